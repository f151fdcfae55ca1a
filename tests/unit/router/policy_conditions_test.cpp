#include <beamline/router/conditions.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

using namespace beamline::router;
namespace json = boost::json;

namespace
{

const json::object context = json::parse(R"({
    "status":"timeout","attempt":3,"region":"eu","ratio":0.5,"big":18446744073709551615,
    "flag":true,"off":false,"tags":["a","b"],"user":{"tier":"gold","limits":{"rpm":60}},
    "items":[{"id":"x"},{"id":"y"}],"name":"router-eu-1"})")
                                 .as_object();

bool eval(std::string_view when)
{
    auto c = compile_condition(json::parse(when), "when");
    BOOST_TEST_REQUIRE(c.has_value(), "compile failed for " << when << ": " << (c ? "" : c.error().message));
    return c->evaluate(context);
}

std::string compile_error(std::string_view when)
{
    auto c = compile_condition(json::parse(when), "fallbacks[2].when");
    BOOST_TEST_REQUIRE(c.has_error(), "expected an error for " << when);
    return c.error().message;
}

} // namespace

BOOST_AUTO_TEST_SUITE(policy_conditions)

BOOST_AUTO_TEST_CASE(key_form)
{
    BOOST_TEST(eval(R"({"status":["timeout","5xx"]})"));
    BOOST_TEST(!eval(R"({"status":["5xx"]})"));
    BOOST_TEST(eval(R"({"status":"timeout"})"));
    BOOST_TEST(eval(R"({"attempt":3.0})"));
    BOOST_TEST(!eval(R"({"missing":["timeout"]})"));
    BOOST_TEST(eval(R"({"status":"timeout","region":["eu","uk"]})"));
    BOOST_TEST(!eval(R"({"status":"timeout","region":["us"]})"));
    BOOST_TEST(eval(R"({"user.tier":"gold"})"));
    BOOST_TEST(eval(R"({})"));
}

BOOST_AUTO_TEST_CASE(comparisons)
{
    BOOST_TEST(eval(R"({"==":[{"var":"status"},"timeout"]})"));
    BOOST_TEST(!eval(R"({"==":[{"var":"status"},"5xx"]})"));
    BOOST_TEST(eval(R"({"!=":[{"var":"status"},"5xx"]})"));
    BOOST_TEST(eval(R"({">":[{"var":"attempt"},2]})"));
    BOOST_TEST(!eval(R"({">":[{"var":"attempt"},3]})"));
    BOOST_TEST(eval(R"({">=":[{"var":"attempt"},3]})"));
    BOOST_TEST(eval(R"({"<":[{"var":"ratio"},1]})"));
    BOOST_TEST(eval(R"({"<=":[{"var":"ratio"},0.5]})"));
    BOOST_TEST(eval(R"({">":[{"var":"big"},-1]})"));
    BOOST_TEST(eval(R"({"<":[-1,{"var":"big"}]})"));
    BOOST_TEST(eval(R"({"<":["abc","abd"]})"));
    BOOST_TEST(eval(R"({"==":[{"var":"flag"},true]})"));
    BOOST_TEST(eval(R"({"==":[{"var":"user.limits.rpm"},60]})"));
    BOOST_TEST(eval(R"({"==":[{"var":"context.user.tier"},"gold"]})"));
    BOOST_TEST(eval(R"({"==":[{"var":"items.1.id"},"y"]})"));
}

BOOST_AUTO_TEST_CASE(membership)
{
    BOOST_TEST(eval(R"({"in":[{"var":"region"},["eu","uk"]]})"));
    BOOST_TEST(!eval(R"({"in":[{"var":"region"},["us"]]})"));
    BOOST_TEST(eval(R"({"in":["b",{"var":"tags"}]})"));
    BOOST_TEST(eval(R"({"in":["eu",{"var":"name"}]})"));
    BOOST_TEST(eval(R"({"in":[3,[1,2,3.0]]})"));
}

BOOST_AUTO_TEST_CASE(logic_and_nesting)
{
    BOOST_TEST(eval(R"({"all":[{">":[{"var":"attempt"},2]},{"in":[{"var":"region"},["eu","uk"]]}]})"));
    BOOST_TEST(!eval(R"({"all":[{">":[{"var":"attempt"},5]},{"in":[{"var":"region"},["eu","uk"]]}]})"));
    BOOST_TEST(eval(R"({"any":[{">":[{"var":"attempt"},5]},{"status":"timeout"}]})"));
    BOOST_TEST(!eval(R"({"any":[{">":[{"var":"attempt"},5]},{"status":"5xx"}]})"));
    BOOST_TEST(eval(R"({"not":{"status":"5xx"}})"));
    BOOST_TEST(!eval(R"({"not":[{"status":"timeout"}]})"));
    BOOST_TEST(eval(R"({"not":{"all":[{"flag":true},{"off":true}]}})"));
    BOOST_TEST(eval(R"({"==":[{">":[{"var":"attempt"},1]},true]})"));
    BOOST_TEST(eval(R"({"var":"flag"})"));
    BOOST_TEST(!eval(R"({"var":"off"})"));
    BOOST_TEST(!eval(R"({"var":"status"})"));
    BOOST_TEST(eval("true"));
    BOOST_TEST(!eval("false"));
}

BOOST_AUTO_TEST_CASE(missing_vars_are_false)
{
    BOOST_TEST(!eval(R"({"==":[{"var":"nope"},"x"]})"));
    BOOST_TEST(!eval(R"({"!=":[{"var":"nope"},"x"]})"));
    BOOST_TEST(!eval(R"({">":[{"var":"nope"},1]})"));
    BOOST_TEST(!eval(R"({"in":[{"var":"nope"},["x"]]})"));
    BOOST_TEST(!eval(R"({"in":["x",{"var":"nope"}]})"));
    BOOST_TEST(!eval(R"({"==":[{"var":"user.tier.deeper"},"x"]})"));
    BOOST_TEST(!eval(R"({"==":[{"var":"items.7.id"},"x"]})"));
    BOOST_TEST(eval(R"({"not":{"==":[{"var":"nope"},"x"]}})"));
}

BOOST_AUTO_TEST_CASE(type_mismatches)
{
    BOOST_TEST(!eval(R"({"==":[{"var":"attempt"},"3"]})"));
    BOOST_TEST(eval(R"({"!=":[{"var":"attempt"},"3"]})"));
    BOOST_TEST(!eval(R"({">":[{"var":"status"},1]})"));
    BOOST_TEST(!eval(R"({"<":[{"var":"status"},1]})"));
    BOOST_TEST(!eval(R"({">":[{"var":"flag"},0]})"));
    BOOST_TEST(!eval(R"({"in":[{"var":"attempt"},{"var":"status"}]})"));
    BOOST_TEST(!eval(R"({"==":[{"var":"user"},"gold"]})"));
}

BOOST_AUTO_TEST_CASE(compile_errors_are_clear)
{
    BOOST_TEST(compile_error(R"({"~=":[1,2]})").find("unknown operator '~='") != std::string::npos);
    BOOST_TEST(compile_error(R"({"===":[1,1]})").find("unknown operator '==='") != std::string::npos);
    BOOST_TEST(
        compile_error(R"({"or":[{"a":1}]})") ==
        "fallbacks[2].when.or: unknown operator 'or' (known: ==, !=, >, <, >=, <=, in, all, any, not, var)");
    BOOST_TEST(compile_error(R"({"status":{"eq":1}})").find("key-form value that is an object") !=
               std::string::npos);
    BOOST_TEST(compile_error(R"({"==":[1]})") ==
               "fallbacks[2].when.==: == takes an array of exactly two operands");
    BOOST_TEST(compile_error(R"({">":[1,2,3]})").find("exactly two operands") != std::string::npos);
    BOOST_TEST(compile_error(R"({"in":["a",5]})").find("in needs an array") != std::string::npos);
    BOOST_TEST(compile_error(R"({"all":[]})").find("non-empty array of conditions") != std::string::npos);
    BOOST_TEST(compile_error(R"({"any":{"a":1}})").find("non-empty array of conditions") !=
               std::string::npos);
    BOOST_TEST(compile_error(R"({"not":[{"a":1},{"b":2}]})").find("not takes exactly one condition") !=
               std::string::npos);
    BOOST_TEST(compile_error(R"({"var":5})").find("var needs a non-empty path") != std::string::npos);
    BOOST_TEST(compile_error(R"({"all":[{"a":1},"x"]})") ==
               "fallbacks[2].when.all[1]: a condition must be an object or a boolean, got \"x\"");
    BOOST_TEST(compile_error(R"(42)").find("must be an object or a boolean") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

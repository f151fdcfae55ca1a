// The JSON writer every layer appends with: escaping, invalid UTF-8, numbers. Its output is read
// back with Boost.JSON, an independent parser.

#include <beamline/common/json_writer.hpp>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>
#include <limits>
#include <string>
#include <vector>

using namespace beamline::common;
namespace json = boost::json;

namespace
{
std::string string_literal(std::string_view s)
{
    std::string out;
    append_json_string(out, s);
    return out;
}

std::string number(double v)
{
    std::string out;
    append_json_number(out, v);
    return out;
}
} // namespace

BOOST_AUTO_TEST_SUITE(common_json_writer)

BOOST_AUTO_TEST_CASE(strings_are_escaped)
{
    BOOST_TEST(string_literal("plain") == "\"plain\"");
    BOOST_TEST(string_literal("say \"hi\"\\") == R"("say \"hi\"\\")");
    BOOST_TEST(string_literal("a\nb\tc\rd\be\ff") == R"("a\nb\tc\rd\be\ff")");
    BOOST_TEST(string_literal(std::string_view("\x01\x1f\0", 3)) == R"("\u0001\u001f\u0000")");
    // DEL is legal in JSON but a terminal reading a log line would act on it.
    BOOST_TEST(string_literal("del\x7f") == R"("del\u007f")");
    BOOST_TEST(string_literal("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80") ==
               "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80\"");
    const std::string nasty = std::string("q\" b\\ n\n t\t nul") + '\0' + " bell\x07 del\x7f";
    BOOST_TEST(std::string(json::parse(string_literal(nasty)).as_string()) == nasty);
}

BOOST_AUTO_TEST_CASE(every_byte_at_every_place_of_a_word_is_escaped_alike)
{
    // Strings are scanned eight bytes at a time: each byte value, at each offset of strings from
    // 1 to 19 bytes (a word, a word and a tail, two words and a tail), reads back as itself
    // (a byte that is not UTF-8 as U+FFFD), and plain bytes are never escaped.
    for (int b = 0; b < 256; ++b)
        for (std::size_t size = 1; size < 20; ++size)
            for (std::size_t at = 0; at < size; ++at)
            {
                std::string s(size, 'a');
                s[at] = static_cast<char>(b);
                const std::string literal = string_literal(s);
                const bool plain = b >= 0x20 && b < 0x7F && b != '"' && b != '\\';
                if (plain) BOOST_TEST_REQUIRE(literal == '"' + s + '"');
                BOOST_TEST_REQUIRE((literal.size() > size + 2) == !plain, "byte " << b << " at " << at); // escaped
                std::string expected = s;
                if (b >= 0x80) expected.replace(at, 1, "\xEF\xBF\xBD");
                BOOST_TEST_REQUIRE(json::parse(literal).as_string() == expected, "byte " << b << " at " << at << " of " << size);
            }
}

BOOST_AUTO_TEST_CASE(invalid_utf8_becomes_one_replacement_character_per_byte)
{
    const std::string r = "\xef\xbf\xbd";
    BOOST_TEST(string_literal("a\xff"
                              "b") == "\"a" + r + "b\"");
    BOOST_TEST(string_literal("\xc3") == "\"" + r + "\"");                 // truncated
    BOOST_TEST(string_literal("\xc0\xaf") == "\"" + r + r + "\"");         // overlong
    BOOST_TEST(string_literal("\xed\xa0\x80") == "\"" + r + r + r + "\""); // surrogate
    for (std::string_view bad : {"\xff", "\xc3", "\xe2\x82", "\xf4\x90\x80\x80", "x\x80y"})
    {
        boost::system::error_code ec;
        json::value back = json::parse(string_literal(bad), ec);
        BOOST_TEST(!ec, "escaped output of invalid UTF-8 parses back");
        BOOST_TEST(back.is_string());
    }
}

BOOST_AUTO_TEST_CASE(numbers_are_integral_when_they_can_be_and_round_trip_otherwise)
{
    BOOST_TEST(number(250) == "250");
    BOOST_TEST(number(0) == "0");
    BOOST_TEST(number(-3) == "-3");
    BOOST_TEST(number(0.002) == "0.002");
    BOOST_TEST(number(1.5) == "1.5");
    for (double v : {0.1, 1.0 / 3, 123456.789, 1e-9, 9007199254740993.0, 1e300})
        BOOST_TEST(json::parse(number(v)).to_number<double>() == v, number(v));
    std::string ints;
    append_json_integer(ints, std::int64_t{-9223372036854775807 - 1});
    ints.push_back(',');
    append_json_integer(ints, std::numeric_limits<std::uint64_t>::max());
    BOOST_TEST(ints == "-9223372036854775808,18446744073709551615");
}

BOOST_AUTO_TEST_CASE(numbers_formatted_again_and_in_turn_read_the_same)
{
    // More distinct values than the writer keeps formatted, repeated in turn and out of turn: each
    // is written as its own shortest form every time (and -0.5 never as 0.5).
    const std::vector<double> values{0.002, 0.003, 1.5, -0.5, 0.5, 2.25, 1e-9, 0.1, 1.0 / 3};
    std::vector<std::string> first;
    for (double v : values)
        first.push_back(number(v));
    BOOST_TEST(first[3] == "-0.5");
    BOOST_TEST(first[4] == "0.5");
    for (int round = 0; round < 3; ++round)
        for (std::size_t i = 0; i < values.size(); ++i)
        {
            const std::size_t k = (i * 7 + static_cast<std::size_t>(round)) % values.size();
            BOOST_TEST(number(values[k]) == first[k]);
            BOOST_TEST(number(values[k]) == first[k]); // at once again: the kept form
        }
    for (std::size_t i = 0; i < values.size(); ++i)
        BOOST_TEST(json::parse(first[i]).to_number<double>() == values[i], first[i]);
}

BOOST_AUTO_TEST_CASE(non_finite_numbers_are_null)
{
    BOOST_TEST(number(std::numeric_limits<double>::quiet_NaN()) == "null");
    BOOST_TEST(number(std::numeric_limits<double>::infinity()) == "null");
    BOOST_TEST(number(-std::numeric_limits<double>::infinity()) == "null");
}

BOOST_AUTO_TEST_SUITE_END()

#include "beamline/router/ids.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <random>
#include <regex>
#include <set>
#include <vector>

using namespace beamline::router;

namespace
{

/// Replays a fixed sequence of random words, then repeats the last one.
struct scripted_random
{
    std::vector<std::uint64_t> words;
    std::size_t next = 0;

    std::uint64_t operator()() { return words[std::min(next++, words.size() - 1)]; }
};

int hex_value(char c)
{
    return c <= '9' ? c - '0' : c - 'a' + 10;
}

} // namespace

BOOST_AUTO_TEST_SUITE(ids)

BOOST_AUTO_TEST_CASE(uuid_v4_sets_version_and_variant_bits)
{
    const std::regex v4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
    for (std::uint64_t word : {std::uint64_t{0}, ~std::uint64_t{0}, std::uint64_t{0x0123456789abcdef}})
    {
        std::string id;
        append_uuid_v4(id, word, word);
        BOOST_TEST(std::regex_match(id, v4), id);
        BOOST_TEST(id[14] == '4');
        BOOST_TEST((hex_value(id[19]) & 0xC) == 0x8, id);
    }
    std::string all_ones;
    append_uuid_v4(all_ones, ~std::uint64_t{0}, ~std::uint64_t{0});
    BOOST_TEST(all_ones == "ffffffff-ffff-4fff-bfff-ffffffffffff");
}

BOOST_AUTO_TEST_CASE(uuid_v4_appends_and_uses_the_injected_random_source)
{
    scripted_random rng{{0x0011223344556677, 0x8899aabbccddeeff}};
    BOOST_TEST(make_uuid_v4(rng) == "00112233-4455-4677-8899-aabbccddeeff");

    std::string buffer = "id=";
    append_uuid_v4(buffer, 0, 0);
    BOOST_TEST(buffer == "id=00000000-0000-4000-8000-000000000000");

    std::mt19937_64 engine(7);
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i)
        seen.insert(make_uuid_v4(engine));
    BOOST_TEST(seen.size() == 100u);
}

BOOST_AUTO_TEST_CASE(span_and_trace_ids_are_never_zero)
{
    scripted_random zeros_then_one{{0, 0, 0, 1}};
    BOOST_TEST(make_span_id(zeros_then_one) == "0000000000000001");

    scripted_random trace_words{{0, 0, 0x2a}};
    BOOST_TEST(make_trace_id(trace_words) == "0000000000000000000000000000002a");

    std::mt19937_64 engine(1);
    const std::regex hex16("^[0-9a-f]{16}$"), hex32("^[0-9a-f]{32}$");
    BOOST_TEST(std::regex_match(make_span_id(engine), hex16));
    BOOST_TEST(std::regex_match(make_trace_id(engine), hex32));
}

BOOST_AUTO_TEST_CASE(uuid_validation)
{
    BOOST_TEST(is_uuid("6f1c2a9e-0b7d-4c3e-9a51-2d8e7f4b1c60"));
    BOOST_TEST(is_uuid("6F1C2A9E-0B7D-4C3E-9A51-2D8E7F4B1C60"));
    BOOST_TEST(!is_uuid("6f1c2a9e0b7d4c3e9a512d8e7f4b1c60"));
    BOOST_TEST(!is_uuid("6f1c2a9e-0b7d-4c3e-9a51-2d8e7f4b1c6"));
    BOOST_TEST(!is_uuid("6f1c2a9e-0b7d-4c3e-9a51_2d8e7f4b1c60"));
    BOOST_TEST(!is_uuid("6f1c2a9e-0b7d-4c3e-9a51-2d8e7f4b1c6g"));
}

BOOST_AUTO_TEST_CASE(ulid_validation)
{
    BOOST_TEST(is_ulid("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
    BOOST_TEST(is_ulid("01arz3ndektsv4rrffq69g5fav"));
    BOOST_TEST(is_ulid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"));
    BOOST_TEST(!is_ulid("8ZZZZZZZZZZZZZZZZZZZZZZZZZ")); // beyond 128 bits
    BOOST_TEST(!is_ulid("01ARZ3NDEKTSV4RRFFQ69G5FAI")); // I is not Crockford
    BOOST_TEST(!is_ulid("01ARZ3NDEKTSV4RRFFQ69G5FA"));
    BOOST_TEST(!is_ulid("01ARZ3NDEKTSV4RRFFQ69G5FAVX"));
}

BOOST_AUTO_TEST_CASE(trace_id_validation_and_w3c_form)
{
    BOOST_TEST(is_trace_id("4bf92f3577b34da6a3ce929d0e0e4736"));
    BOOST_TEST(is_trace_id("4BF92F3577B34DA6A3CE929D0E0E4736"));
    BOOST_TEST(is_trace_id("6f1c2a9e-0b7d-4c3e-9a51-2d8e7f4b1c60"));
    BOOST_TEST(!is_trace_id("00000000000000000000000000000000"));
    BOOST_TEST(!is_trace_id("00000000-0000-0000-0000-000000000000"));
    BOOST_TEST(!is_trace_id("4bf92f3577b34da6a3ce929d0e0e473"));
    BOOST_TEST(!is_trace_id("tr-123"));
    BOOST_TEST(to_w3c_trace_id("6F1C2A9E-0B7D-4C3E-9A51-2D8E7F4B1C60") == "6f1c2a9e0b7d4c3e9a512d8e7f4b1c60");
}

BOOST_AUTO_TEST_CASE(tenant_or_policy_id_charset)
{
    BOOST_TEST(is_tenant_or_policy_id("acme"));
    BOOST_TEST(is_tenant_or_policy_id("Acme_eu-1.prod"));
    BOOST_TEST(!is_tenant_or_policy_id(""));
    BOOST_TEST(!is_tenant_or_policy_id("a/b"));
    BOOST_TEST(!is_tenant_or_policy_id("caf\xc3\xa9"));
    BOOST_TEST(is_tenant_or_policy_id(std::string(64, 'a')));
    BOOST_TEST(!is_tenant_or_policy_id(std::string(65, 'a')));
}

BOOST_AUTO_TEST_CASE(traceparent_parsing)
{
    auto tp = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    BOOST_TEST_REQUIRE(tp.has_value());
    BOOST_TEST(tp->version == "00");
    BOOST_TEST(tp->trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
    BOOST_TEST(tp->parent_id == "00f067aa0ba902b7");
    BOOST_TEST(tp->flags == "01");

    // A later version may carry more fields; version 00 may not.
    BOOST_TEST(
        parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra").has_value());
    BOOST_TEST(!parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
    BOOST_TEST(!parse_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    BOOST_TEST(!parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
    BOOST_TEST(!parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
    BOOST_TEST(!parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
    BOOST_TEST(!parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"));
    BOOST_TEST(!parse_traceparent("00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01"));
    BOOST_TEST(!parse_traceparent(""));
}

BOOST_AUTO_TEST_CASE(traceparent_formatting)
{
    std::string tp = format_traceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    BOOST_TEST(tp == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    BOOST_TEST(parse_traceparent(tp).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

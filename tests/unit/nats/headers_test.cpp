#include "alloc_counter.hpp"

#include <beamline/nats/error.hpp>
#include <beamline/nats/protocol/headers.hpp>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace beamline::nats;
using namespace beamline::nats::test;

BOOST_AUTO_TEST_SUITE(nats_headers)

BOOST_AUTO_TEST_CASE(round_trip_with_multi_value_keys)
{
    headers h;
    h.add("Nats-Msg-Id", "42").add("X-Tag", "a").add("x-tag", "lower").add("X-Tag", "b");
    std::string block;
    h.encode(block);
    BOOST_TEST(block == "NATS/1.0\r\nNats-Msg-Id: 42\r\nX-Tag: a\r\nx-tag: lower\r\nX-Tag: b\r\n\r\n");
    BOOST_TEST(h.encoded_size() == block.size());

    headers back;
    BOOST_TEST_REQUIRE(!headers::parse(block, back));
    BOOST_TEST((back.fields() == h.fields()));
    BOOST_TEST(back.status() == 0);
    // Keys are case-sensitive and keep every value in order.
    auto tags = back.values("X-Tag");
    BOOST_TEST_REQUIRE(tags.size() == 2u);
    BOOST_TEST(tags[0] == "a");
    BOOST_TEST(tags[1] == "b");
    BOOST_TEST(*back.get("x-tag") == "lower");
    BOOST_TEST(!back.get("X-TAG"));
}

BOOST_AUTO_TEST_CASE(set_and_erase)
{
    headers h;
    h.add("A", "1").add("B", "2").add("A", "3");
    h.set("A", "4");
    BOOST_TEST(h.values("A").size() == 1u);
    BOOST_TEST(*h.get("A") == "4");
    h.erase("B");
    BOOST_TEST(!h.get("B"));
    BOOST_TEST(!h.empty());
    h.erase("A");
    BOOST_TEST(h.empty());
}

BOOST_AUTO_TEST_CASE(status_is_encoded_and_lifted)
{
    headers h;
    h.set_status(503, "No Responders");
    std::string block;
    h.encode(block);
    BOOST_TEST(block == "NATS/1.0 503 No Responders\r\n\r\n");
    BOOST_TEST(h.encoded_size() == block.size());
    BOOST_TEST(!h.empty());

    struct vector
    {
        std::string block;
        int status;
        std::string description;
    };
    const std::vector<vector> vectors = {
        {"NATS/1.0 503\r\n\r\n", 503, ""},
        {"NATS/1.0 503 No Responders\r\n\r\n", 503, "No Responders"},
        {"NATS/1.0  404   No Messages\r\n\r\n", 404, "No Messages"},
        {"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 5\r\n\r\n", 100, "Idle Heartbeat"},
        {"NATS/1.0\r\n\r\n", 0, ""},
    };
    for (const auto& v : vectors)
    {
        BOOST_TEST_CONTEXT(v.block)
        {
            headers parsed;
            BOOST_TEST_REQUIRE(!headers::parse(v.block, parsed));
            BOOST_TEST(parsed.status() == v.status);
            BOOST_TEST(parsed.description() == v.description);
            BOOST_TEST(header_status(v.block) == v.status);
        }
    }
}

BOOST_AUTO_TEST_CASE(malformed_blocks_are_rejected)
{
    struct vector
    {
        std::string block;
        errc expected;
    };
    const std::vector<vector> vectors = {
        {"NATS/1.0", errc::invalid_headers},             // no line end
        {"NATS/1.0\r\n", errc::invalid_headers},         // no blank line
        {"NATS/1.0\r\nA: b\r\n", errc::invalid_headers}, // no blank line after a field
        {"NATS/2.0\r\n\r\n", errc::invalid_headers},     // wrong version
        {"HTTP/1.0\r\n\r\n", errc::invalid_headers},
        {"NATS/1.0 50\r\n\r\n", errc::invalid_headers},   // short status
        {"NATS/1.0 5x3\r\n\r\n", errc::invalid_headers},  // non-numeric status
        {"NATS/1.0 5030\r\n\r\n", errc::invalid_headers}, // status not three digits
        {"NATS/1.0\r\nno colon\r\n\r\n", errc::invalid_headers},
        {"NATS/1.0\r\n\r\nextra", errc::invalid_headers}, // bytes after the blank line
        {"NATS/1.0\r\nBad Key: v\r\n\r\n", errc::invalid_header_key},
        {"NATS/1.0\r\n: v\r\n\r\n", errc::invalid_header_key},
    };
    for (const auto& v : vectors)
    {
        BOOST_TEST_CONTEXT(v.block)
        {
            headers parsed;
            parsed.add("stale", "value");
            auto ec = headers::parse(v.block, parsed);
            BOOST_TEST(ec == make_error_code(v.expected), ec.message());
        }
    }
}

BOOST_AUTO_TEST_CASE(line_breaks_in_values_become_spaces)
{
    headers h;
    h.add("A", "one\r\ntwo\nthree\rfour");
    h.set_status(408, "Request\r\nTimeout");
    BOOST_TEST(*h.get("A") == "one  two three four");
    BOOST_TEST(h.description() == "Request  Timeout");
    std::string block;
    h.encode(block);
    headers back;
    BOOST_TEST_REQUIRE(!headers::parse(block, back));
    BOOST_TEST(*back.get("A") == "one  two three four");
    BOOST_TEST(back.fields().size() == 1u);
}

BOOST_AUTO_TEST_CASE(find_header_matches_the_parsed_form)
{
    const std::vector<std::string> blocks = {
        "NATS/1.0\r\nA: 1\r\nB:2\r\nA: 3\r\n\r\n",
        "NATS/1.0 503\r\n\r\n",
        "NATS/1.0  404   No Messages\r\nNats-Pending-Messages: 0\r\n\r\n",
        "NATS/1.0\r\nKey:   spaced value \t\r\nEmpty:\r\n\r\n",
    };
    for (const auto& block : blocks)
    {
        BOOST_TEST_CONTEXT(block)
        {
            headers parsed;
            BOOST_TEST_REQUIRE(!headers::parse(block, parsed));
            for (const auto& [key, value] : parsed.fields())
            {
                std::optional<std::string_view> found;
                auto allocations = allocations_during([&] { found = find_header(block, key); });
                BOOST_TEST(allocations == 0u);
                BOOST_TEST_REQUIRE(found.has_value(), key);
                BOOST_TEST(*found == *parsed.get(key));
            }
            BOOST_TEST(!find_header(block, "Missing"));
            int status = -1;
            auto allocations = allocations_during([&] { status = header_status(block); });
            BOOST_TEST(allocations == 0u);
            BOOST_TEST(status == parsed.status());
        }
    }
    BOOST_TEST(header_status("garbage") == 0);
    BOOST_TEST(!find_header("", "A"));
}

BOOST_AUTO_TEST_CASE(header_keys)
{
    for (std::string_view key : {"Nats-Msg-Id", "X", "a!~", "x-tenant_id.1"})
        BOOST_TEST(valid_header_key(key), key);
    for (std::string_view key : {"", "Bad Key", "A:B", ":", "tab\tkey", "caf\xc3\xa9", "del\x7f", "nl\n"})
        BOOST_TEST(!valid_header_key(key), key);
}

BOOST_AUTO_TEST_SUITE_END()

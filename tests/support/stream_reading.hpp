// Reading back what the results loop stored, for results tests: message counts and small streams
// through our JetStream context (with headers), and the usage events of a large stream through a
// libnats pull subscription (independent of our client).
#pragma once

#include "jetstream_harness.hpp"
#include "libnats_jetstream.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <map>
#include <string>
#include <vector>

namespace beamline::test
{

inline std::uint64_t stream_messages(io_runner& io, js::context& ctx, const std::string& stream)
{
    auto info = io.wait(ctx.get_stream_info(stream));
    BOOST_TEST_REQUIRE(!info.ec, stream << ": " << info.error_text());
    return info.value.state.messages;
}

/// Every message of `stream` by sequence, one request each: for small streams (dead letters).
inline std::vector<js::stored_message> all_messages(io_runner& io, js::context& ctx, const std::string& stream)
{
    auto info = io.wait(ctx.get_stream_info(stream));
    std::vector<js::stored_message> out;
    for (auto seq = info.value.state.first_seq; seq && seq <= info.value.state.last_seq; ++seq)
    {
        js::message_query q;
        q.seq = seq;
        auto m = io.wait(ctx.get_message(stream, q));
        if (!m.ec) out.push_back(m.value);
    }
    return out;
}

inline std::string header_of(const js::stored_message& m, std::string_view key)
{
    auto v = beamline::nats::find_header(m.header_block, key);
    return v ? std::string(*v) : std::string("<absent>");
}

/// How many usage events of BEAMLINE_USAGE carry each usage_id, read by a libnats durable
/// `durable` in batches until `expected` messages came or a fetch comes back empty.
inline std::map<std::string, int> usage_id_counts(libnats_jetstream& js, std::size_t expected,
                                                  const std::string& durable = "test-usage-reader")
{
    libnats_pull_subscription sub(js, "beamline.usage.v1.>", durable, "BEAMLINE_USAGE");
    BOOST_TEST_REQUIRE(sub.status() == NATS_OK, natsStatus_GetText(sub.status()));
    std::map<std::string, int> counts;
    std::size_t read = 0;
    while (read < expected)
    {
        auto batch = sub.fetch(1000, 5000);
        if (batch.empty()) break;
        for (const auto& m : batch)
            ++counts[std::string(boost::json::parse(m.data).at("usage_id").as_string())];
        read += batch.size();
    }
    return counts;
}

} // namespace beamline::test

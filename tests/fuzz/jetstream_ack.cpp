// A JetStream message's `$JS.ACK` reply subject, as any peer may set it, and the ack bodies.
// Properties: a subject that parses names a stream and a consumer that are single subject tokens,
// and its canonical rendering (v1 without a domain or account, v2 otherwise) parses back to the
// same metadata; a refused subject leaves the output untouched; every ack body is one the server
// knows, and a -NAK delay is a JSON object with that delay.
#include "beamline/nats/jetstream/ack.hpp"
#include "fuzz_check.hpp"

#include <boost/json/parse.hpp>
#include <fuzzer/FuzzedDataProvider.h>

using beamline::fuzz::check;
namespace js = beamline::nats::jetstream;
namespace json = boost::json;

namespace
{

bool single_token(const std::string& t)
{
    if (t.empty()) return false;
    for (char c : t)
        if (c == '.' || c == ' ' || c == '\t' || c == '\r' || c == '\n') return false;
    return true;
}

std::string canonical(const js::ack_metadata& m)
{
    std::string s = "$JS.ACK.";
    if (!m.account_hash.empty()) s += (m.domain.empty() ? std::string("_") : m.domain) + "." + m.account_hash + ".";
    s += m.stream + "." + m.consumer;
    for (std::uint64_t n : {m.delivered, m.stream_seq, m.consumer_seq, m.timestamp_ns, m.pending})
        s += "." + std::to_string(n);
    return s;
}

bool same(const js::ack_metadata& a, const js::ack_metadata& b)
{
    return a.domain == b.domain && a.account_hash == b.account_hash && a.stream == b.stream &&
           a.consumer == b.consumer && a.delivered == b.delivered && a.stream_seq == b.stream_seq &&
           a.consumer_seq == b.consumer_seq && a.timestamp_ns == b.timestamp_ns && a.pending == b.pending;
}

void check_ack_bodies(std::int64_t delay_ns)
{
    check(js::ack_body(js::ack_kind::ack) == "+ACK", "+ACK body");
    check(js::ack_body(js::ack_kind::in_progress) == "+WPI", "+WPI body");
    check(js::ack_body(js::ack_kind::term) == "+TERM", "+TERM body");
    const auto nak = js::ack_body(js::ack_kind::nak, std::chrono::nanoseconds(delay_ns));
    if (delay_ns <= 0)
    {
        check(nak == "-NAK", "a -NAK without a delay has a body");
        return;
    }
    check(nak.starts_with("-NAK "), "a -NAK with a delay does not start with '-NAK '");
    boost::system::error_code ec;
    auto v = json::parse(std::string_view(nak).substr(5), ec);
    check(!ec && v.is_object(), "a -NAK delay is not a JSON object");
    const auto* delay = v.as_object().if_contains("delay");
    check(delay && delay->is_int64() && delay->get_int64() == delay_ns, "a -NAK delay is not the delay asked for");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    FuzzedDataProvider provider(data, size);
    check_ack_bodies(provider.ConsumeIntegral<std::int64_t>());
    // Most inputs start with the prefix, so the fuzzer spends its time on the tokens.
    std::string subject = provider.ConsumeBool() ? "$JS.ACK." : "";
    subject += provider.ConsumeRemainingBytesAsString();

    js::ack_metadata untouched;
    untouched.stream = "sentinel";
    untouched.pending = 42;
    js::ack_metadata m = untouched;
    if (js::parse_ack_metadata(subject, m))
    {
        check(same(m, untouched), "a refused subject changed the output");
        return 0;
    }
    check(subject.starts_with("$JS.ACK."), "a subject without the $JS.ACK. prefix was accepted");
    check(single_token(m.stream) && single_token(m.consumer), "a stream or consumer is not one token");
    check(m.domain.empty() || single_token(m.domain), "a domain is not one token");
    check(m.account_hash.empty() || single_token(m.account_hash), "an account hash is not one token");
    check(m.domain.empty() || !m.account_hash.empty(), "a domain without an account hash (v1 has neither)");
    js::ack_metadata again;
    check(!js::parse_ack_metadata(canonical(m), again), "the canonical rendering of a parsed subject is refused");
    check(same(m, again), "the canonical rendering parses to other metadata");
    return 0;
}

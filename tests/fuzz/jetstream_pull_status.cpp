// A message on a pull consumer's inbox, headers and payload as the server (or anyone publishing
// to the inbox) sent them. Properties: a message without a status line is a message; a status is
// classified consistently (severity matches the kind, only a heartbeat keeps the pull open, every
// warning and terminal status has an error_code); the pending counts are the headers' numbers.
#include "beamline/nats/jetstream/pull_status.hpp"
#include "fuzz_check.hpp"

#include <charconv>
#include <fuzzer/FuzzedDataProvider.h>

using beamline::fuzz::check;
namespace js = beamline::nats::jetstream;

namespace
{

void check_consistent(const js::status_info& s)
{
    using js::pull_status;
    using js::status_severity;
    const bool plain = s.kind == pull_status::message || s.kind == pull_status::idle_heartbeat;
    check(plain == (s.severity == status_severity::none), "severity none is not exactly messages and heartbeats");
    check(s.ends_pull() == !plain, "ends_pull disagrees with the kind");
    const bool reported = s.severity == status_severity::warning || s.severity == status_severity::terminal;
    if (reported) check(static_cast<bool>(js::status_error(s)), "a warning or terminal status has no error_code");
    if (plain) check(!js::status_error(s), "a message or heartbeat has an error_code");
}

/// What the header's value says when it is a plain decimal that fits, else nothing.
std::optional<std::uint64_t> plain_number(std::optional<std::string_view> v)
{
    if (!v || v->empty()) return std::nullopt;
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || end != v->data() + v->size()) return std::nullopt;
    return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    FuzzedDataProvider provider(data, size);
    const int code = provider.ConsumeIntegral<int>();
    const auto description = provider.ConsumeRandomLengthString(64);
    check_consistent(js::classify_status(code, description));

    const auto header_block = provider.ConsumeRandomLengthString(512);
    const auto payload = provider.ConsumeRemainingBytesAsString();
    beamline::nats::message_view m{"_INBOX.x.1", "", header_block, payload};
    const js::status_info s = js::classify(m);
    check_consistent(s);
    const bool has_status = m.status() != 0;
    check(has_status == (s.kind != js::pull_status::message), "a status line and a message kind disagree");
    if (!has_status)
    {
        check(s.pending_messages == 0 && s.pending_bytes == 0, "a message has pending counts");
        return 0;
    }
    if (auto n = plain_number(m.header("Nats-Pending-Messages")))
        check(s.pending_messages == *n, "pending messages are not the header's number");
    if (auto n = plain_number(m.header("Nats-Pending-Bytes")))
        check(s.pending_bytes == *n, "pending bytes are not the header's number");
    return 0;
}

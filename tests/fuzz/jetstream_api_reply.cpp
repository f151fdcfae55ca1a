// A `$JS.API` reply payload, as any responder may send it, read as each reply type this layer
// knows. Properties: nothing throws; an error reply has an error_code and words for it; a stream
// config that reads renders to JSON that reads back to the same config; a PubAck that reads names
// its stream; base64 decodes to 6 bits a character.
#include "beamline/nats/jetstream/api_types.hpp"
#include "fuzz_check.hpp"

#include <boost/json/object.hpp>
#include <fuzzer/FuzzedDataProvider.h>

using beamline::fuzz::check;
namespace js = beamline::nats::jetstream;
namespace json = boost::json;

namespace
{

bool same(const js::stream_config& a, const js::stream_config& b)
{
    return a.name == b.name && a.description == b.description && a.subjects == b.subjects &&
           a.retention == b.retention && a.storage == b.storage && a.discard == b.discard &&
           a.max_consumers == b.max_consumers && a.max_msgs == b.max_msgs && a.max_bytes == b.max_bytes &&
           a.max_msgs_per_subject == b.max_msgs_per_subject && a.max_msg_size == b.max_msg_size &&
           a.max_age == b.max_age && a.duplicate_window == b.duplicate_window && a.num_replicas == b.num_replicas &&
           a.allow_rollup_hdrs == b.allow_rollup_hdrs && a.deny_delete == b.deny_delete &&
           a.deny_purge == b.deny_purge && a.allow_direct == b.allow_direct;
}

void check_stream_config_round_trip(const json::object& o)
{
    js::stream_config c;
    if (js::from_json(o, c)) return;
    // A window the server would default is not written, so it reads back as the default.
    if (c.duplicate_window.count() < 0) c.duplicate_window = js::milliseconds(0);
    json::object written;
    js::api_error err;
    check(!js::parse_api_reply(js::to_json(c), written, err), "a rendered stream config is not an API reply");
    js::stream_config again;
    check(!js::from_json(written, again), "a rendered stream config does not read back");
    check(same(c, again), "a stream config changed on its way through JSON");
}

void check_base64(std::string_view text)
{
    std::string out;
    if (!js::base64_decode(text, out)) return;
    const std::size_t digits = text.substr(0, text.find('=')).size();
    check(out.size() == digits * 6 / 8, "base64 did not decode 6 bits a character");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view payload(reinterpret_cast<const char*>(data), size);
    check_base64(payload);

    json::object o;
    js::api_error err;
    if (auto ec = js::parse_api_reply(payload, o, err))
    {
        check(!js::describe(ec, err).empty(), "a refused reply has no words");
        if (ec != js::js_errc::invalid_reply) check(err.error() == ec, "an error reply's code is not its error()");
        auto ack = js::parse_pub_ack(payload);
        check(!ack, "a refused reply reads as a PubAck");
        return 0;
    }
    check_stream_config_round_trip(o);
    js::stream_info stream;
    (void)js::from_json(o, stream);
    js::consumer_info consumer;
    if (!js::from_json(o, consumer)) check(!consumer.name.empty(), "a consumer info without a name was accepted");
    js::account_info account;
    (void)js::from_json(o, account);
    js::stored_message stored;
    if (!js::from_json(o, stored)) check(!stored.subject.empty(), "a stored message without a subject was accepted");
    auto ack = js::parse_pub_ack(payload);
    if (ack) check(!ack.value.stream.empty(), "a PubAck without a stream was accepted");
    return 0;
}

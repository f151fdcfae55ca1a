#include "beamline/nats/jetstream/error.hpp"

namespace beamline::nats::jetstream
{
namespace
{

const char* known_description(int ev) noexcept
{
    switch (static_cast<js_errc>(ev))
    {
    case js_errc::invalid_reply: return "invalid JetStream API reply";
    case js_errc::not_enabled: return "JetStream not available (no responders on the API)";
    case js_errc::no_stream_response: return "no stream stores this subject (no responders)";
    case js_errc::invalid_ack_subject: return "not a $JS.ACK reply subject";
    case js_errc::already_acked: return "message already acknowledged";
    case js_errc::not_a_jetstream_message: return "not a JetStream message";
    case js_errc::invalid_name: return "invalid stream, consumer or bucket name";
    case js_errc::invalid_key: return "invalid key";
    case js_errc::bad_request: return "bad pull request";
    case js_errc::consumer_deleted: return "consumer deleted";
    case js_errc::consumer_is_push_based: return "consumer is push based";
    case js_errc::heartbeats_missed: return "idle heartbeats missed";
    case js_errc::no_messages: return "no messages";
    case js_errc::key_not_found: return "key not found";
    case js_errc::wrong_last_revision: return "wrong last revision";
    case js_errc::consume_stopped: return "consume stopped";
    case js_errc::pull_refused: return "pull request refused by the consumer's limits";
    case js_errc::unexpected_status: return "unexpected status on a pull";
    case js_errc::jetstream_not_enabled_for_account: return "jetstream not enabled for account";
    case js_errc::consumer_name_in_use: return "consumer name already in use";
    case js_errc::consumer_not_found: return "consumer not found";
    case js_errc::insufficient_resources: return "insufficient resources";
    case js_errc::message_too_large: return "message size exceeds maximum allowed";
    case js_errc::stream_name_in_use: return "stream name already in use with a different configuration";
    case js_errc::stream_not_found: return "stream not found";
    case js_errc::subjects_overlap: return "subjects overlap with an existing stream";
    case js_errc::wrong_last_msg_id: return "wrong last msg ID";
    case js_errc::wrong_last_sequence: return "wrong last sequence";
    case js_errc::jetstream_not_enabled: return "jetstream not enabled";
    case js_errc::stream_wrong_expected: return "expected stream does not match";
    case js_errc::no_message_found: return "no message found";
    case js_errc::consumer_already_exists: return "consumer already exists";
    case js_errc::duplicate_in_progress: return "duplicate message id is in process";
    }
    return nullptr;
}

class jetstream_category_impl final : public std::error_category
{
public:
    const char* name() const noexcept override { return "nats.jetstream"; }
    std::string message(int ev) const override
    {
        const char* known = known_description(ev);
        if (ev >= 10000) return std::string(known ? known : "JetStream API error") + " (err_code " + std::to_string(ev) + ")";
        if (known) return known;
        if (ev >= 100 && ev < 600) return "JetStream API error (status " + std::to_string(ev) + ")";
        return "JetStream error " + std::to_string(ev);
    }
};

} // namespace

const std::error_category& jetstream_category() noexcept
{
    static const jetstream_category_impl instance;
    return instance;
}

std::error_code api_error::error() const noexcept
{
    return {err_code != 0 ? err_code : code, jetstream_category()};
}

std::string api_error::text() const
{
    std::string out = description.empty() ? (known_description(err_code) ? known_description(err_code) : "JetStream API error")
                                          : description;
    if (err_code != 0)
        out += " (err_code " + std::to_string(err_code) + ")";
    else if (code != 0)
        out += " (status " + std::to_string(code) + ")";
    return out;
}

std::string describe(std::error_code ec, const api_error& detail)
{
    if (!ec) return "ok";
    if (ec.category() == jetstream_category() && (detail.err_code != 0 || detail.code != 0) && ec == detail.error())
        return detail.text();
    return ec.message();
}

} // namespace beamline::nats::jetstream

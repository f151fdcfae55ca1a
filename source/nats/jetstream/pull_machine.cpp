#include "beamline/nats/jetstream/pull_machine.hpp"

#include "beamline/nats/jetstream/error.hpp"

#include <algorithm>
#include <string>

namespace beamline::nats::jetstream
{
namespace
{

using std::chrono::nanoseconds;

/// A pull whose expiry passed this long ago without its 408 is taken for lost.
constexpr milliseconds expiry_grace{1000};

milliseconds default_heartbeat(milliseconds expires)
{
    if (expires < milliseconds(1000)) return milliseconds(0);
    return std::clamp(expires / 2, milliseconds(500), milliseconds(30000));
}

} // namespace

std::string encode_pull_request(const pull_request& r)
{
    std::string out = "{\"batch\":" + std::to_string(r.batch);
    if (r.max_bytes) out += ",\"max_bytes\":" + std::to_string(r.max_bytes);
    if (r.expires.count() > 0)
        out += ",\"expires\":" + std::to_string(std::chrono::duration_cast<nanoseconds>(r.expires).count());
    if (r.heartbeat.count() > 0)
        out += ",\"idle_heartbeat\":" + std::to_string(std::chrono::duration_cast<nanoseconds>(r.heartbeat).count());
    if (r.no_wait) out += ",\"no_wait\":true";
    out += "}";
    return out;
}

pull_machine::pull_machine(consume_options options) : options_(options)
{
    if (options_.batch == 0) options_.batch = 1;
    if (options_.heartbeat.count() < 0)
        heartbeat_ = milliseconds(0);
    else if (options_.heartbeat.count() == 0)
        heartbeat_ = default_heartbeat(options_.expires);
    else
        heartbeat_ = std::min(options_.heartbeat, options_.expires / 2);
    threshold_msgs_ = options_.threshold_messages ? std::min(options_.threshold_messages, options_.batch - 1)
                                                  : options_.batch / 2;
    threshold_bytes_ = options_.threshold_bytes ? options_.threshold_bytes : options_.max_bytes / 2;
}

void pull_machine::pull_up_to_full(time_point now, std::vector<consume_action>& out)
{
    if (stopped_ || !connected_ || recreating_ || retry_at_) return;
    if (paced_ && (pending_msgs_ > 0 || unsettled_ > 0)) return; // the last batch is not done
    std::size_t want = options_.batch > pending_msgs_ ? options_.batch - pending_msgs_ : 0;
    std::size_t want_bytes = 0;
    if (options_.max_bytes)
    {
        want_bytes = options_.max_bytes > pending_bytes_ ? options_.max_bytes - pending_bytes_ : 0;
        if (want_bytes == 0) return;
    }
    if (want == 0) return;
    consume_action a;
    a.what = consume_action::kind::pull;
    a.request = {want, want_bytes, options_.expires, heartbeat_, false};
    pending_msgs_ += want;
    pending_bytes_ += want_bytes;
    // A fresh pull is activity: the heartbeat clock starts from the moment we asked.
    last_activity_ = now;
    pull_expires_at_ = now + options_.expires;
    out.push_back(a);
}

void pull_machine::pull_if_below_threshold(time_point now, std::vector<consume_action>& out)
{
    bool low_msgs = pending_msgs_ <= threshold_msgs_;
    bool low_bytes = options_.max_bytes && pending_bytes_ <= threshold_bytes_;
    if (low_msgs || low_bytes) pull_up_to_full(now, out);
}

void pull_machine::stop_with(std::error_code ec, std::vector<consume_action>& out)
{
    if (stopped_) return;
    stopped_ = true;
    consume_action a;
    a.what = consume_action::kind::stop;
    a.error = ec;
    out.push_back(a);
}

std::vector<consume_action> pull_machine::start(time_point now)
{
    std::vector<consume_action> out;
    if (started_) return out;
    started_ = true;
    pull_up_to_full(now, out);
    return out;
}

std::vector<consume_action> pull_machine::on_message(time_point now, std::size_t bytes)
{
    std::vector<consume_action> out;
    if (stopped_) return out;
    last_activity_ = now;
    ++unsettled_;
    if (pending_msgs_) --pending_msgs_;
    pending_bytes_ = pending_bytes_ > bytes ? pending_bytes_ - bytes : 0;
    pull_if_below_threshold(now, out);
    return out;
}

std::vector<consume_action> pull_machine::on_status(time_point now, const status_info& s)
{
    std::vector<consume_action> out;
    if (stopped_) return out;
    last_activity_ = now;
    if (!s.ends_pull()) return out;
    // What the ended pull had left; without the headers (404 on no_wait, 400) assume all of it.
    if (s.pending_messages || s.pending_bytes)
    {
        pending_msgs_ = pending_msgs_ > s.pending_messages ? pending_msgs_ - s.pending_messages : 0;
        pending_bytes_ = pending_bytes_ > s.pending_bytes ? pending_bytes_ - s.pending_bytes : 0;
    }
    else
    {
        pending_msgs_ = 0;
        pending_bytes_ = 0;
    }
    switch (s.severity)
    {
    case status_severity::terminal:
        if (s.kind == pull_status::consumer_deleted && options_.recreate_deleted_consumer)
        {
            recreating_ = true;
            pending_msgs_ = 0;
            pending_bytes_ = 0;
            consume_action a;
            a.what = consume_action::kind::recreate_consumer;
            a.error = status_error(s);
            out.push_back(a);
            return out;
        }
        stop_with(status_error(s), out);
        return out;
    case status_severity::warning:
    {
        consume_action a;
        a.what = consume_action::kind::warn;
        a.error = status_error(s);
        out.push_back(a);
        // Pulling again at once would be refused again: wait, then pull.
        retry_at_ = now + options_.retry_delay;
        return out;
    }
    default: break;
    }
    pull_if_below_threshold(now, out);
    return out;
}

std::vector<consume_action> pull_machine::on_pull_failed(time_point now, std::error_code ec)
{
    std::vector<consume_action> out;
    if (stopped_) return out;
    pending_msgs_ = 0;
    pending_bytes_ = 0;
    consume_action a;
    a.what = consume_action::kind::warn;
    a.error = ec;
    out.push_back(a);
    retry_at_ = now + options_.retry_delay;
    return out;
}

void pull_machine::on_disconnected(time_point)
{
    connected_ = false;
}

std::vector<consume_action> pull_machine::on_reconnected(time_point now)
{
    std::vector<consume_action> out;
    connected_ = true;
    if (stopped_ || !started_) return out;
    // The server dropped the pulls of the old connection.
    pending_msgs_ = 0;
    pending_bytes_ = 0;
    retry_at_.reset();
    last_activity_ = now;
    pull_up_to_full(now, out);
    return out;
}

std::vector<consume_action> pull_machine::on_consumer_recreated(time_point now)
{
    std::vector<consume_action> out;
    recreating_ = false;
    pending_msgs_ = 0;
    pending_bytes_ = 0;
    pull_up_to_full(now, out);
    return out;
}

std::vector<consume_action> pull_machine::on_recreate_failed(time_point, std::error_code ec)
{
    std::vector<consume_action> out;
    recreating_ = false;
    stop_with(ec, out);
    return out;
}

std::vector<consume_action> pull_machine::tick(time_point now)
{
    std::vector<consume_action> out;
    if (stopped_ || !connected_ || recreating_ || !started_) return out;
    if (retry_at_)
    {
        if (now < *retry_at_) return out;
        retry_at_.reset();
        pull_up_to_full(now, out);
        return out;
    }
    bool missed = heartbeat_.count() > 0 && pending_msgs_ > 0 && now - last_activity_ >= 2 * heartbeat_;
    bool expired = pending_msgs_ > 0 && now >= pull_expires_at_ + expiry_grace;
    if (missed || expired)
    {
        if (missed)
        {
            consume_action a;
            a.what = consume_action::kind::warn;
            a.error = js_errc::heartbeats_missed;
            out.push_back(a);
        }
        pending_msgs_ = 0;
        pending_bytes_ = 0;
        pull_up_to_full(now, out);
    }
    return out;
}

std::optional<pull_machine::time_point> pull_machine::next_deadline() const noexcept
{
    if (stopped_ || !connected_ || recreating_ || !started_) return std::nullopt;
    if (retry_at_) return retry_at_;
    if (pending_msgs_ == 0) return std::nullopt;
    time_point expiry = pull_expires_at_ + expiry_grace;
    if (heartbeat_.count() > 0) return std::min(expiry, last_activity_ + 2 * heartbeat_);
    return expiry;
}

std::vector<consume_action> pull_machine::set_paced(time_point now, bool paced)
{
    std::vector<consume_action> out;
    paced_ = paced;
    if (started_) pull_if_below_threshold(now, out);
    return out;
}

std::vector<consume_action> pull_machine::on_settled(time_point now, std::size_t n)
{
    std::vector<consume_action> out;
    unsettled_ = unsettled_ > n ? unsettled_ - n : 0;
    if (paced_ && started_) pull_if_below_threshold(now, out);
    return out;
}

std::vector<consume_action> pull_machine::stop(std::error_code reason)
{
    std::vector<consume_action> out;
    stop_with(reason, out);
    return out;
}

} // namespace beamline::nats::jetstream

#include "beamline/nats/jetstream/context.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <mutex>
#include <random>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

namespace beamline::nats::jetstream
{
namespace json = boost::json;
namespace
{

template <class T>
api_result<T> failure(const api_result<json::object>& r)
{
    api_result<T> out;
    out.ec = r.ec;
    out.error = r.error;
    return out;
}

/// A request's outcome as an API result: 503 is "JetStream not there" (`absent`), a reply is parsed.
api_result<json::object> to_result(std::error_code ec, const message& reply, js_errc absent)
{
    api_result<json::object> r;
    if (is_no_responders(ec) || (!ec && reply.status() == 503))
        r.ec = absent;
    else if (ec)
        r.ec = ec;
    else
        r.ec = parse_api_reply(reply.payload(), r.value, r.error);
    return r;
}

template <class T>
api_result<T> parsed(api_result<json::object> r)
{
    if (r.ec) return failure<T>(r);
    api_result<T> out;
    out.ec = from_json(r.value, out.value);
    return out;
}

api_result<bool> success_flag(const api_result<json::object>& r)
{
    if (r.ec) return failure<bool>(r);
    api_result<bool> out;
    auto it = r.value.find("success");
    out.value = it != r.value.end() && it->value().is_bool() && it->value().get_bool();
    if (!out.value) out.ec = js_errc::invalid_reply;
    return out;
}

api_result<std::uint64_t> purged_count(const api_result<json::object>& r)
{
    auto ok = success_flag(r);
    api_result<std::uint64_t> out{ok.ec, ok.error, 0};
    if (!out.ec)
        if (auto it = r.value.find("purged"); it != r.value.end() && it->value().is_number())
            out.value = it->value().to_number<std::uint64_t>();
    return out;
}

} // namespace

bool is_no_responders(std::error_code ec) noexcept
{
    return ec == nats::errc::no_responders;
}

std::string new_inbox()
{
    static std::mutex mutex;
    static std::mt19937_64 rng{std::random_device{}()};
    static constexpr char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    std::string out = "_INBOX.";
    std::lock_guard lock(mutex);
    for (int i = 0; i < 22; ++i)
        out.push_back(digits[rng() % 62]);
    return out;
}

headers publish_headers(const publish_options& o)
{
    headers h;
    if (!o.msg_id.empty()) h.add("Nats-Msg-Id", o.msg_id);
    if (!o.expected_stream.empty()) h.add("Nats-Expected-Stream", o.expected_stream);
    if (!o.expected_last_msg_id.empty()) h.add("Nats-Expected-Last-Msg-Id", o.expected_last_msg_id);
    if (o.expected_last_sequence) h.add("Nats-Expected-Last-Sequence", std::to_string(*o.expected_last_sequence));
    if (o.expected_last_subject_sequence)
        h.add("Nats-Expected-Last-Subject-Sequence", std::to_string(*o.expected_last_subject_sequence));
    for (const auto& [k, v] : o.extra_headers)
        h.add(k, v);
    return h;
}

context::context(asio::any_io_executor executor, std::shared_ptr<client> core, jetstream_options options)
    : executor_(std::move(executor)), core_(std::move(core)), options_(std::move(options))
{
    if (!options_.api_prefix.empty())
        prefix_ = options_.api_prefix;
    else if (!options_.domain.empty())
        prefix_ = "$JS." + options_.domain + ".API";
    else
        prefix_ = "$JS.API";
    while (!prefix_.empty() && prefix_.back() == '.')
        prefix_.pop_back();
}

std::string context::api_subject(std::string_view suffix) const
{
    std::string s = prefix_;
    s += '.';
    s += suffix;
    return s;
}

asio::awaitable<api_result<json::object>> context::api_request(std::string suffix, std::string body)
{
    auto [ec, reply] = co_await core_->request(api_subject(suffix), std::move(body), options_.timeout);
    co_return to_result(ec, reply, js_errc::not_enabled);
}

asio::awaitable<api_result<account_info>> context::get_account_info()
{
    co_return parsed<account_info>(co_await api_request("INFO"));
}

asio::awaitable<api_result<stream_info>> context::create_stream(stream_config config)
{
    if (!valid_name(config.name)) co_return failure_of<stream_info>(js_errc::invalid_name);
    co_return parsed<stream_info>(co_await api_request("STREAM.CREATE." + config.name, to_json(config)));
}

asio::awaitable<api_result<stream_info>> context::update_stream(stream_config config)
{
    if (!valid_name(config.name)) co_return failure_of<stream_info>(js_errc::invalid_name);
    co_return parsed<stream_info>(co_await api_request("STREAM.UPDATE." + config.name, to_json(config)));
}

asio::awaitable<api_result<stream_info>> context::get_stream_info(std::string stream)
{
    if (!valid_name(stream)) co_return failure_of<stream_info>(js_errc::invalid_name);
    co_return parsed<stream_info>(co_await api_request("STREAM.INFO." + stream));
}

asio::awaitable<api_result<bool>> context::delete_stream(std::string stream)
{
    if (!valid_name(stream)) co_return failure_of<bool>(js_errc::invalid_name);
    co_return success_flag(co_await api_request("STREAM.DELETE." + stream));
}

asio::awaitable<api_result<std::uint64_t>> context::purge_stream(std::string stream, purge_options options)
{
    if (!valid_name(stream)) co_return failure_of<std::uint64_t>(js_errc::invalid_name);
    co_return purged_count(co_await api_request("STREAM.PURGE." + stream, to_json(options)));
}

// The overloads without options pass a named object, never `{}`, to the coroutine: see failure_of.
asio::awaitable<api_result<std::uint64_t>> context::purge_stream(std::string stream)
{
    purge_options all;
    return purge_stream(std::move(stream), all);
}

asio::awaitable<api_result<pub_ack>> context::publish(std::string subject, std::string payload)
{
    publish_options plain;
    return publish(std::move(subject), std::move(payload), plain);
}

asio::awaitable<api_result<std::vector<std::string>>> context::names(std::string suffix, std::string key,
                                                                     std::string subject)
{
    api_result<std::vector<std::string>> out;
    // The server answers in pages (1024 names for 2.9); ask from where the last page ended.
    for (int pages = 0; pages < 1000; ++pages)
    {
        json::object req;
        req["offset"] = out.value.size();
        if (!subject.empty()) req["subject"] = subject;
        auto r = co_await api_request(suffix, json::serialize(req));
        if (r.ec) co_return failure<std::vector<std::string>>(r);
        std::uint64_t total = 0;
        if (auto it = r.value.find("total"); it != r.value.end() && it->value().is_number())
            total = it->value().to_number<std::uint64_t>();
        auto it = r.value.find(key);
        if (it == r.value.end() || it->value().is_null()) co_return out; // none at all
        if (!it->value().is_array()) co_return failure_of<std::vector<std::string>>(js_errc::invalid_reply);
        const auto& page = it->value().get_array();
        for (const auto& v : page)
        {
            if (!v.is_string()) co_return failure_of<std::vector<std::string>>(js_errc::invalid_reply);
            out.value.emplace_back(v.get_string());
        }
        if (page.empty() || out.value.size() >= total) co_return out;
    }
    co_return out;
}

asio::awaitable<api_result<std::vector<std::string>>> context::stream_names(std::string subject)
{
    co_return co_await names("STREAM.NAMES", "streams", std::move(subject));
}

asio::awaitable<api_result<std::vector<std::string>>> context::consumer_names(std::string stream)
{
    if (!valid_name(stream)) co_return failure_of<std::vector<std::string>>(js_errc::invalid_name);
    co_return co_await names("CONSUMER.NAMES." + stream, "consumers", {});
}

asio::awaitable<api_result<std::vector<stream_info>>> context::list_streams()
{
    api_result<std::vector<stream_info>> out;
    for (int pages = 0; pages < 1000; ++pages)
    {
        json::object req;
        req["offset"] = out.value.size();
        auto r = co_await api_request("STREAM.LIST", json::serialize(req));
        if (r.ec) co_return failure<std::vector<stream_info>>(r);
        std::uint64_t total = 0;
        if (auto it = r.value.find("total"); it != r.value.end() && it->value().is_number())
            total = it->value().to_number<std::uint64_t>();
        auto it = r.value.find("streams");
        if (it == r.value.end() || it->value().is_null()) co_return out;
        if (!it->value().is_array()) co_return failure_of<std::vector<stream_info>>(js_errc::invalid_reply);
        const auto& page = it->value().get_array();
        for (const auto& v : page)
        {
            stream_info info;
            if (!v.is_object() || from_json(v.get_object(), info))
                co_return failure_of<std::vector<stream_info>>(js_errc::invalid_reply);
            out.value.push_back(std::move(info));
        }
        if (page.empty() || out.value.size() >= total) co_return out;
    }
    co_return out;
}

asio::awaitable<api_result<stored_message>> context::get_message(std::string stream, message_query query)
{
    if (!valid_name(stream)) co_return failure_of<stored_message>(js_errc::invalid_name);
    co_return parsed<stored_message>(co_await api_request("STREAM.MSG.GET." + stream, to_json(query)));
}

asio::awaitable<api_result<consumer_info>> context::create_consumer(std::string stream, consumer_config config)
{
    if (!valid_name(stream) || (!config.durable_name.empty() && !valid_name(config.durable_name)))
        co_return failure_of<consumer_info>(js_errc::invalid_name);
    // DURABLE.CREATE is what 2.9 and every later server take for a durable; CREATE.<s> for ephemerals.
    std::string suffix = config.durable_name.empty() ? "CONSUMER.CREATE." + stream
                                                     : "CONSUMER.DURABLE.CREATE." + stream + "." + config.durable_name;
    co_return parsed<consumer_info>(co_await api_request(std::move(suffix), consumer_create_request(stream, config)));
}

asio::awaitable<api_result<consumer_info>> context::get_consumer_info(std::string stream, std::string consumer)
{
    if (!valid_name(stream) || !valid_name(consumer)) co_return failure_of<consumer_info>(js_errc::invalid_name);
    co_return parsed<consumer_info>(co_await api_request("CONSUMER.INFO." + stream + "." + consumer));
}

asio::awaitable<api_result<bool>> context::delete_consumer(std::string stream, std::string consumer)
{
    if (!valid_name(stream) || !valid_name(consumer)) co_return failure_of<bool>(js_errc::invalid_name);
    co_return success_flag(co_await api_request("CONSUMER.DELETE." + stream + "." + consumer));
}

asio::awaitable<api_result<pub_ack>> context::publish(std::string subject, std::string payload, publish_options options)
{
    headers h = publish_headers(options);
    const headers* hp = h.empty() ? nullptr : &h;
    for (int attempt = 0;; ++attempt)
    {
        auto [ec, reply] = co_await core_->request(subject, payload, options_.timeout, hp);
        if (is_no_responders(ec) && attempt < options_.publish_retries)
        {
            asio::steady_timer wait(co_await asio::this_coro::executor, options_.publish_retry_wait);
            co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        if (ec) co_return failure_of<pub_ack>(is_no_responders(ec) ? js_errc::no_stream_response : ec);
        co_return parse_pub_ack(reply.payload());
    }
}

// ---- async_publisher ----

// The window is a channel used as a counting semaphore: a publish puts a token in (waiting while
// it is full) and its answer takes one out. A concurrent channel, so answers may come on any thread.
struct async_publisher::state : std::enable_shared_from_this<async_publisher::state>
{
    using slot_channel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

    state(std::shared_ptr<client> c, asio::any_io_executor ex, std::size_t window, jetstream_options o)
        : core(std::move(c)), executor(ex), max_in_flight(window ? window : 1), options(std::move(o)),
          slots(ex, max_in_flight)
    {
    }

    struct pending
    {
        std::string subject;
        std::string payload;
        headers hdrs;
        completion done;
        int attempt = 0;
    };

    void send(std::shared_ptr<pending> p)
    {
        const headers* hp = p->hdrs.empty() ? nullptr : &p->hdrs;
        core->async_request(p->subject, p->payload, options.timeout,
                            [self = shared_from_this(), p](std::error_code ec, message reply) {
                                self->answered(std::move(p), ec, reply);
                            },
                            hp);
    }

    void answered(std::shared_ptr<pending> p, std::error_code ec, const message& reply)
    {
        if (is_no_responders(ec) && p->attempt < options.publish_retries)
        {
            ++p->attempt;
            auto timer = std::make_shared<asio::steady_timer>(executor, options.publish_retry_wait);
            timer->async_wait([self = shared_from_this(), p, timer](std::error_code) { self->send(p); });
            return;
        }
        api_result<pub_ack> r;
        if (ec)
            r.ec = is_no_responders(ec) ? std::error_code(js_errc::no_stream_response) : ec;
        else
            r = parse_pub_ack(reply.payload());
        (r.ec ? failed : acked).fetch_add(1, std::memory_order_relaxed);
        if (p->done) p->done(r);
        in_flight.fetch_sub(1, std::memory_order_acq_rel);
        slots.try_receive([](boost::system::error_code) {});
    }

    std::shared_ptr<client> core;
    asio::any_io_executor executor;
    std::size_t max_in_flight;
    jetstream_options options;
    slot_channel slots;
    std::atomic<std::size_t> in_flight{0};
    std::atomic<std::uint64_t> acked{0};
    std::atomic<std::uint64_t> failed{0};
};

async_publisher::async_publisher(const context& js, std::size_t max_in_flight)
    : state_(std::make_shared<state>(js.core_ptr(), js.executor(), max_in_flight, js.options()))
{
}

async_publisher::~async_publisher() = default;

std::size_t async_publisher::in_flight() const noexcept { return state_->in_flight.load(); }
std::uint64_t async_publisher::acked() const noexcept { return state_->acked.load(); }
std::uint64_t async_publisher::failed() const noexcept { return state_->failed.load(); }

asio::awaitable<void> async_publisher::publish(std::string subject, std::string payload, publish_options options,
                                               completion done)
{
    auto s = state_;
    if (!s->slots.try_send(boost::system::error_code{}))
        co_await s->slots.async_send(boost::system::error_code{}, asio::as_tuple(asio::use_awaitable));
    auto p = std::make_shared<state::pending>();
    p->subject = std::move(subject);
    p->payload = std::move(payload);
    p->hdrs = publish_headers(options);
    p->done = std::move(done);
    s->in_flight.fetch_add(1, std::memory_order_acq_rel);
    s->send(std::move(p));
}

asio::awaitable<void> async_publisher::publish(std::string subject, std::string payload)
{
    publish_options plain;
    return publish(std::move(subject), std::move(payload), plain);
}

asio::awaitable<bool> async_publisher::wait_all(milliseconds timeout)
{
    // Rare and at the end of a burst: looking every millisecond costs nothing that matters.
    auto s = state_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    asio::steady_timer tick(co_await asio::this_coro::executor);
    while (s->in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline)
    {
        tick.expires_after(std::chrono::milliseconds(1));
        co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return s->in_flight.load() == 0;
}

} // namespace beamline::nats::jetstream

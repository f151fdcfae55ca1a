#include "beamline/nats/jetstream/kv.hpp"

#include <boost/json.hpp>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

namespace beamline::nats::jetstream
{
namespace
{

constexpr std::string_view operation_header = "KV-Operation";

template <class T, class U>
api_result<T> failed(const api_result<U>& r)
{
    return api_result<T>{r.ec, r.error, {}};
}

consumer_config last_per_subject_consumer(const std::string& filter)
{
    consumer_config c;
    c.deliver_policy = "last_per_subject";
    c.ack_policy = "none";
    c.filter_subject = filter;
    c.inactive_threshold = std::chrono::minutes(5);
    c.mem_storage = true;
    return c;
}

} // namespace

bool valid_kv_key(std::string_view key) noexcept
{
    if (key.empty() || key.front() == '.' || key.back() == '.' || key.size() > 1024) return false;
    char prev = 0;
    for (char c : key)
    {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '/' ||
                  c == '_' || c == '=' || c == '.';
        if (!ok || (c == '.' && prev == '.')) return false;
        prev = c;
    }
    return true;
}

stream_config kv_stream_config(const kv_config& c)
{
    stream_config s;
    s.name = "KV_" + c.bucket;
    s.description = c.description;
    s.subjects = {"$KV." + c.bucket + ".>"};
    s.max_msgs_per_subject = c.history < 1 ? 1 : c.history;
    s.max_bytes = c.max_bytes;
    s.max_msg_size = c.max_value_size;
    s.max_age = c.ttl;
    s.storage = c.storage;
    s.num_replicas = c.replicas;
    s.allow_rollup_hdrs = true;
    s.deny_delete = true;
    s.discard = "new";
    s.allow_direct = true;
    // As the official clients: de-duplicate for 2 minutes, or the TTL when it is shorter.
    s.duplicate_window = c.ttl.count() > 0 && c.ttl < std::chrono::minutes(2) ? c.ttl : std::chrono::minutes(2);
    return s;
}

kv_operation kv_operation_of(std::string_view block) noexcept
{
    if (block.empty()) return kv_operation::put;
    auto op = find_header(block, operation_header);
    if (!op) return kv_operation::put;
    if (*op == "DEL") return kv_operation::del;
    if (*op == "PURGE") return kv_operation::purge;
    return kv_operation::put;
}

kv_bucket::kv_bucket(context& js, std::string bucket)
    : js_(&js), bucket_(std::move(bucket)), stream_("KV_" + bucket_), prefix_("$KV." + bucket_ + ".")
{
}

std::string kv_bucket::subject(std::string_view key) const
{
    return prefix_ + std::string(key);
}

asio::awaitable<api_result<kv_bucket>> kv_bucket::create(context& js, kv_config config)
{
    if (!valid_name(config.bucket)) co_return failure_of<kv_bucket>(js_errc::invalid_name);
    auto r = co_await js.create_stream(kv_stream_config(config));
    if (r.ec) co_return failed<kv_bucket>(r);
    co_return success_of<kv_bucket>(kv_bucket(js, config.bucket));
}

asio::awaitable<api_result<kv_bucket>> kv_bucket::bind(context& js, std::string bucket)
{
    if (!valid_name(bucket)) co_return failure_of<kv_bucket>(js_errc::invalid_name);
    auto r = co_await js.get_stream_info("KV_" + bucket);
    if (r.ec) co_return failed<kv_bucket>(r);
    co_return success_of<kv_bucket>(kv_bucket(js, bucket));
}

asio::awaitable<api_result<kv_entry>> kv_bucket::get(std::string key)
{
    if (!valid_kv_key(key)) co_return failure_of<kv_entry>(js_errc::invalid_key);
    message_query last;
    last.last_by_subject = subject(key);
    auto r = co_await js_->get_message(stream_, last);
    if (r.ec == js_errc::no_message_found) co_return failure_of<kv_entry>(js_errc::key_not_found);
    if (r.ec) co_return failed<kv_entry>(r);
    api_result<kv_entry> out;
    out.value.bucket = bucket_;
    out.value.key = key;
    out.value.revision = r.value.seq;
    out.value.operation = kv_operation_of(r.value.header_block);
    out.value.value = std::move(r.value.data);
    if (out.value.operation != kv_operation::put) out.ec = js_errc::key_not_found;
    co_return out;
}

asio::awaitable<api_result<std::uint64_t>> kv_bucket::put_with(std::string key, std::string value, publish_options o)
{
    if (!valid_kv_key(key)) co_return failure_of<std::uint64_t>(js_errc::invalid_key);
    auto r = co_await js_->publish(subject(key), std::move(value), std::move(o));
    if (r.ec == js_errc::wrong_last_sequence) co_return failure_of<std::uint64_t>(js_errc::wrong_last_revision, r.error);
    if (r.ec) co_return failed<std::uint64_t>(r);
    co_return success_of<std::uint64_t>(r.value.seq);
}

asio::awaitable<api_result<std::uint64_t>> kv_bucket::put(std::string key, std::string value)
{
    publish_options plain; // a named object, not `{}`: see failure_of
    co_return co_await put_with(std::move(key), std::move(value), plain);
}

asio::awaitable<api_result<std::uint64_t>> kv_bucket::create(std::string key, std::string value)
{
    publish_options o;
    o.expected_last_subject_sequence = 0;
    auto r = co_await put_with(key, value, o);
    if (r.ec != js_errc::wrong_last_revision) co_return r;
    // The key has a message: if it is a delete or purge marker, the key is free; take it by
    // expecting exactly that marker, so a racing create still loses.
    auto current = co_await get(key);
    if (current.ec != js_errc::key_not_found || current.value.revision == 0) co_return r;
    co_return co_await update(std::move(key), std::move(value), current.value.revision);
}

asio::awaitable<api_result<std::uint64_t>> kv_bucket::update(std::string key, std::string value,
                                                             std::uint64_t last_revision)
{
    publish_options o;
    o.expected_last_subject_sequence = last_revision;
    co_return co_await put_with(std::move(key), std::move(value), o);
}

asio::awaitable<api_result<std::uint64_t>> kv_bucket::remove(std::string key)
{
    publish_options o;
    o.extra_headers = {{std::string(operation_header), "DEL"}};
    co_return co_await put_with(std::move(key), {}, o);
}

asio::awaitable<api_result<std::uint64_t>> kv_bucket::purge(std::string key)
{
    publish_options o;
    o.extra_headers = {{std::string(operation_header), "PURGE"}, {"Nats-Rollup", "sub"}};
    co_return co_await put_with(std::move(key), {}, o);
}

asio::awaitable<api_result<std::vector<std::string>>> kv_bucket::keys()
{
    using result = api_result<std::vector<std::string>>;
    consumer_config c = last_per_subject_consumer(prefix_ + ">");
    c.headers_only = true;
    auto created = co_await js_->create_consumer(stream_, c);
    if (created.ec) co_return failed<std::vector<std::string>>(created);
    const std::string name = created.value.name;
    std::uint64_t expected = created.value.num_pending;
    result out;
    std::uint64_t seen = 0;
    while (seen < expected)
    {
        fetch_options f;
        f.batch = std::min<std::uint64_t>(expected - seen, 256);
        f.no_wait = true;
        auto page = co_await fetch(*js_, stream_, name, f);
        if (page.ec || page.value.empty())
        {
            if (page.ec && page.ec != js_errc::no_messages) out = failed<std::vector<std::string>>(page);
            break;
        }
        for (auto& m : page.value)
        {
            ++seen;
            if (kv_operation_of(m.msg().header_block()) == kv_operation::put)
                out.value.emplace_back(m.subject().substr(prefix_.size()));
        }
    }
    co_await js_->delete_consumer(stream_, name);
    co_return out;
}

asio::awaitable<api_result<std::shared_ptr<pull_consumer>>> kv_bucket::watch(watch_events events, std::string keys)
{
    using result = api_result<std::shared_ptr<pull_consumer>>;
    consumer_config c = last_per_subject_consumer(prefix_ + keys);
    auto created = co_await js_->create_consumer(stream_, c);
    if (created.ec) co_return failed<std::shared_ptr<pull_consumer>>(created);
    bool nothing_yet = created.value.num_pending == 0;
    auto initial = std::make_shared<bool>(nothing_yet);
    if (nothing_yet && events.initial_done) events.initial_done();
    consume_events ce;
    ce.message = [bucket = bucket_, prefix = prefix_, events, initial](js_message m) {
        kv_entry e;
        e.bucket = bucket;
        e.key = std::string(m.subject().substr(prefix.size()));
        e.value = std::string(m.payload());
        e.revision = m.metadata().stream_seq;
        e.delta = m.metadata().pending;
        e.operation = kv_operation_of(m.msg().header_block());
        if (events.entry) events.entry(e);
        if (!*initial && e.delta == 0)
        {
            *initial = true;
            if (events.initial_done) events.initial_done();
        }
    };
    ce.stopped = events.stopped;
    consume_options o;
    o.batch = 256;
    o.expires = std::chrono::seconds(30);
    auto consumer = pull_consumer::create(*js_, stream_, created.value.name, o, std::move(ce));
    if (auto ec = consumer->start()) co_return failure_of<result::value_type>(ec);
    co_return success_of<result::value_type>(consumer);
}

} // namespace beamline::nats::jetstream

#include "libnats_peer.hpp"

#include <cstdlib>
#include <thread>

namespace beamline::test
{
using namespace std::chrono_literals;

namespace
{

received_message copy_message(natsMsg* msg)
{
    received_message out;
    out.subject = natsMsg_GetSubject(msg);
    if (const char* reply = natsMsg_GetReply(msg); reply != nullptr) out.reply = reply;
    if (const char* data = natsMsg_GetData(msg); data != nullptr)
        out.data.assign(data, static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    const char** keys = nullptr;
    int key_count = 0;
    if (natsMsgHeader_Keys(msg, &keys, &key_count) == NATS_OK)
    {
        for (int k = 0; k < key_count; ++k)
        {
            const char** values = nullptr;
            int value_count = 0;
            if (natsMsgHeader_Values(msg, keys[k], &values, &value_count) == NATS_OK)
            {
                for (int v = 0; v < value_count; ++v)
                    out.headers.emplace_back(keys[k], values[v]);
                std::free(static_cast<void*>(values));
            }
        }
        std::free(static_cast<void*>(keys));
    }
    return out;
}

// A message to send, with headers; nullptr-safe destruction through unique_ptr.
struct message_deleter
{
    void operator()(natsMsg* msg) const { natsMsg_Destroy(msg); }
};
using message_ptr = std::unique_ptr<natsMsg, message_deleter>;

natsStatus make_message(message_ptr& out, const std::string& subject, const std::string& reply,
                        const std::string& data, const header_list& headers)
{
    natsMsg* msg = nullptr;
    natsStatus s = natsMsg_Create(&msg, subject.c_str(), reply.empty() ? nullptr : reply.c_str(), data.data(),
                                  static_cast<int>(data.size()));
    out.reset(msg);
    for (const auto& [key, value] : headers)
    {
        if (s != NATS_OK) break;
        s = natsMsgHeader_Add(msg, key.c_str(), value.c_str());
    }
    return s;
}

void on_disconnected(natsConnection*, void* closure)
{
    ++static_cast<libnats_peer::connection_events*>(closure)->disconnects;
}

void on_reconnected(natsConnection*, void* closure)
{
    ++static_cast<libnats_peer::connection_events*>(closure)->reconnects;
}

void collect(natsConnection*, natsSubscription*, natsMsg* msg, void* closure)
{
    auto* st = static_cast<message_collector::state*>(closure);
    received_message copy = copy_message(msg);
    natsMsg_Destroy(msg);
    {
        std::lock_guard lock(st->mutex);
        st->messages.push_back(std::move(copy));
    }
    st->arrived.notify_all();
}

void count_one(natsConnection*, natsSubscription*, natsMsg* msg, void* closure)
{
    natsMsg_Destroy(msg);
    ++*static_cast<std::atomic<std::uint64_t>*>(closure);
}

void answer(natsConnection*, natsSubscription*, natsMsg* msg, void* closure)
{
    auto* st = static_cast<responder::state*>(closure);
    received_message request = copy_message(msg);
    natsMsg_Destroy(msg);
    if (request.reply.empty()) return;
    std::string body = st->reply_with ? st->reply_with(request) : request.data;
    if (natsConnection_Publish(st->connection, request.reply.c_str(), body.data(),
                               static_cast<int>(body.size())) == NATS_OK)
        ++st->served;
}

void on_closed(natsConnection*, void* closure)
{
    auto* events = static_cast<libnats_peer::connection_events*>(closure);
    std::lock_guard lock(events->mutex);
    events->closed = true;
    events->closed_signal.notify_all();
}

natsStatus subscribe(natsSubscription** out, natsConnection* connection, const std::string& subject,
                     const std::string& queue, natsMsgHandler handler, void* closure)
{
    if (connection == nullptr) return NATS_CONNECTION_CLOSED;
    natsStatus s = queue.empty()
                       ? natsConnection_Subscribe(out, connection, subject.c_str(), handler, closure)
                       : natsConnection_QueueSubscribe(out, connection, subject.c_str(), queue.c_str(),
                                                       handler, closure);
    // The subscription is known to the server once a PING after it has its PONG.
    if (s == NATS_OK) s = natsConnection_FlushTimeout(connection, 2000);
    return s;
}

// Drains so that no callback still runs on the state about to be freed; a closed connection
// delivers nothing more, so unsubscribing is enough then.
void close_subscription(natsSubscription* subscription)
{
    if (subscription == nullptr) return;
    if (natsSubscription_Drain(subscription) == NATS_OK)
        natsSubscription_WaitForDrainCompletion(subscription, 2000);
    else
        natsSubscription_Unsubscribe(subscription);
    natsSubscription_Destroy(subscription);
}

} // namespace

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition())
    {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

peer_options options_for(const nats_server& server, client_identity identity)
{
    peer_options options;
    options.url = server.url();
    options.user = server.options().user;
    options.password = server.options().password;
    options.token = server.options().token;
    if (server.options().tls != tls_mode::none)
    {
        const certificate_paths& certs = server.certs();
        options.ca_file = certs.ca.string();
        options.expected_hostname = "localhost";
        if (identity == client_identity::ours)
        {
            options.cert_file = certs.client_cert.string();
            options.key_file = certs.client_key.string();
        }
        else if (identity == client_identity::other_ca)
        {
            options.cert_file = certs.other_client_cert.string();
            options.key_file = certs.other_client_key.string();
        }
    }
    return options;
}

libnats_peer::libnats_peer(const peer_options& options)
{
    natsOptions* opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetURL(opts, options.url.c_str());
    if (s == NATS_OK) s = natsOptions_SetName(opts, options.name.c_str());
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts, options.connect_timeout.count());
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, options.max_reconnect);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, options.reconnect_wait.count());
    if (s == NATS_OK && options.ping_interval.count() > 0)
        s = natsOptions_SetPingInterval(opts, options.ping_interval.count());
    if (s == NATS_OK && options.max_pings_out > 0)
        s = natsOptions_SetMaxPingsOut(opts, options.max_pings_out);
    if (s == NATS_OK && !options.ca_file.empty())
        s = natsOptions_LoadCATrustedCertificates(opts, options.ca_file.c_str());
    if (s == NATS_OK && !options.cert_file.empty())
        s = natsOptions_LoadCertificatesChain(opts, options.cert_file.c_str(), options.key_file.c_str());
    if (s == NATS_OK && !options.expected_hostname.empty())
        s = natsOptions_SetExpectedHostname(opts, options.expected_hostname.c_str());
    if (s == NATS_OK && (!options.ca_file.empty() || !options.cert_file.empty()))
        s = natsOptions_SetSecure(opts, true);
    if (s == NATS_OK && !options.user.empty())
        s = natsOptions_SetUserInfo(opts, options.user.c_str(), options.password.c_str());
    if (s == NATS_OK && !options.token.empty()) s = natsOptions_SetToken(opts, options.token.c_str());
    if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, on_disconnected, events_.get());
    if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, on_reconnected, events_.get());
    if (s == NATS_OK) s = natsOptions_SetClosedCB(opts, on_closed, events_.get());
    if (s == NATS_OK) s = natsConnection_Connect(&connection_, opts);
    if (s != NATS_OK)
    {
        const char* detail = nats_GetLastError(nullptr);
        error_ = std::string(natsStatus_GetText(s)) + (detail != nullptr ? std::string(": ") + detail : "");
        natsConnection_Destroy(connection_);
        connection_ = nullptr;
    }
    status_ = s;
    natsOptions_Destroy(opts);
}

libnats_peer::~libnats_peer()
{
    if (connection_ == nullptr) return;
    natsConnection_Close(connection_);
    {
        // Callbacks run on libnats' own thread after Close returns; wait for the last one.
        std::unique_lock lock(events_->mutex);
        if (!events_->closed_signal.wait_for(lock, 5s, [&] { return events_->closed; }))
            (void)events_.release(); // a late callback may still come: leak rather than free
    }
    natsConnection_Destroy(connection_);
}

bool libnats_peer::connected() const
{
    return connection_ != nullptr && natsConnection_Status(connection_) == NATS_CONN_STATUS_CONNECTED;
}

natsStatus libnats_peer::publish(const std::string& subject, const std::string& data,
                                 const header_list& headers, const std::string& reply)
{
    if (connection_ == nullptr) return NATS_CONNECTION_CLOSED;
    message_ptr msg;
    natsStatus s = make_message(msg, subject, reply, data, headers);
    return s == NATS_OK ? natsConnection_PublishMsg(connection_, msg.get()) : s;
}

natsStatus libnats_peer::flush(std::chrono::milliseconds limit)
{
    return connection_ == nullptr ? NATS_CONNECTION_CLOSED
                                  : natsConnection_FlushTimeout(connection_, limit.count());
}

std::optional<received_message> libnats_peer::request(const std::string& subject, const std::string& data,
                                                      std::chrono::milliseconds limit, natsStatus* failure,
                                                      const header_list& headers)
{
    natsStatus s = NATS_CONNECTION_CLOSED;
    natsMsg* reply = nullptr;
    if (connection_ != nullptr)
    {
        message_ptr msg;
        s = make_message(msg, subject, {}, data, headers);
        if (s == NATS_OK) s = natsConnection_RequestMsg(&reply, connection_, msg.get(), limit.count());
    }
    if (failure != nullptr) *failure = s;
    if (s != NATS_OK) return std::nullopt;
    received_message out = copy_message(reply);
    natsMsg_Destroy(reply);
    return out;
}

bool libnats_peer::wait_connected(std::chrono::milliseconds limit)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline)
    {
        if (connection_ == nullptr || natsConnection_IsClosed(connection_)) return false;
        if (connected()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return connected();
}

bool libnats_peer::wait_disconnected(std::chrono::milliseconds limit)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline)
    {
        if (!connected()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return !connected();
}

message_collector::message_collector(libnats_peer& peer, const std::string& subject, const std::string& queue)
{
    status_ = subscribe(&subscription_, peer.get(), subject, queue, collect, state_.get());
}

message_collector::~message_collector()
{
    close_subscription(subscription_);
}

std::vector<received_message> message_collector::wait_for(std::size_t count, std::chrono::milliseconds limit)
{
    std::unique_lock lock(state_->mutex);
    state_->arrived.wait_for(lock, limit, [&] { return state_->messages.size() >= count; });
    return state_->messages;
}

std::vector<received_message> message_collector::messages() const
{
    std::lock_guard lock(state_->mutex);
    return state_->messages;
}

message_counter::message_counter(libnats_peer& peer, const std::string& subject)
{
    status_ = subscribe(&subscription_, peer.get(), subject, {}, count_one, count_.get());
    // No pending limit: a count must not miss what libnats would drop as a slow consumer.
    if (status_ == NATS_OK) status_ = natsSubscription_SetPendingLimits(subscription_, -1, -1);
}

message_counter::~message_counter()
{
    close_subscription(subscription_);
}

responder::responder(libnats_peer& peer, const std::string& subject, handler reply_with,
                     const std::string& queue)
{
    state_->connection = peer.get();
    state_->reply_with = std::move(reply_with);
    status_ = subscribe(&subscription_, peer.get(), subject, queue, answer, state_.get());
}

responder::~responder()
{
    close_subscription(subscription_);
}

} // namespace beamline::test

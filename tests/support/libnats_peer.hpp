// RAII helpers around the official C client (libnats), the independent peer of integration tests:
// a connection with TLS and auth options, publishing with headers, a subscription that collects
// messages, a responder, and requests with a timeout. Failures are returned as natsStatus values
// (with libnats' text in error()), never thrown.
#pragma once

#include "nats_server.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nats/nats.h>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace beamline::test
{

struct peer_options
{
    std::string url{};
    // TLS: a non-empty ca_file or cert_file turns it on.
    std::string ca_file{};
    std::string cert_file{};
    std::string key_file{};
    std::string expected_hostname{};
    std::string user{};
    std::string password{};
    std::string token{};
    std::string name = "libnats-peer";
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds ping_interval{0}; // 0: libnats' default (2 min)
    int max_pings_out = 0;                      // 0: libnats' default (2)
    int max_reconnect = 100;
    std::chrono::milliseconds reconnect_wait{100};
};

// Which client certificate a peer of a TLS server presents.
enum class client_identity
{
    ours,
    none,
    other_ca
};

// Options to reach `server` as a well-behaved client: its URL, our CA and, by default, our client
// certificate; the server's user/password or token.
peer_options options_for(const nats_server& server, client_identity identity = client_identity::ours);

// Polls `condition` until it holds or the limit passes; for state that libnats updates from its
// own threads (connection callbacks arrive after the status changed).
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit);

using header_list = std::vector<std::pair<std::string, std::string>>;

struct received_message
{
    std::string subject;
    std::string reply;
    std::string data;
    header_list headers; // in order, one entry per value
};

class libnats_peer
{
public:
    // Connects; check connected(), status() and error() for the outcome.
    explicit libnats_peer(const peer_options& options);
    ~libnats_peer();
    libnats_peer(const libnats_peer&) = delete;
    libnats_peer& operator=(const libnats_peer&) = delete;

    bool connected() const;
    natsStatus status() const { return status_; }
    // libnats' description of the connect failure, empty when connected.
    const std::string& error() const { return error_; }
    natsConnection* get() const { return connection_; }

    natsStatus publish(const std::string& subject, const std::string& data, const header_list& headers = {},
                       const std::string& reply = {});
    natsStatus flush(std::chrono::milliseconds limit = std::chrono::milliseconds{2000});
    // Sends a request and waits for the reply; nullopt with the status on failure (timeout,
    // NATS_NO_RESPONDERS, not connected).
    std::optional<received_message> request(const std::string& subject, const std::string& data,
                                            std::chrono::milliseconds limit, natsStatus* failure = nullptr,
                                            const header_list& headers = {});

    // Waits until the connection is (again) connected; false at the limit or when it is closed.
    bool wait_connected(std::chrono::milliseconds limit);
    // Waits until the connection has lost the server (disconnected, reconnecting or closed).
    bool wait_disconnected(std::chrono::milliseconds limit);
    std::size_t disconnects() const { return events_->disconnects.load(); }
    std::size_t reconnects() const { return events_->reconnects.load(); }

    // Written by libnats' callback thread. The closed callback is the last one libnats makes, so
    // the destructor waits for it before freeing this.
    struct connection_events
    {
        std::atomic<std::size_t> disconnects{0};
        std::atomic<std::size_t> reconnects{0};
        std::mutex mutex;
        std::condition_variable closed_signal;
        bool closed = false;
    };

private:
    natsConnection* connection_ = nullptr;
    natsStatus status_ = NATS_OK;
    std::string error_;
    std::unique_ptr<connection_events> events_ = std::make_unique<connection_events>();
};

// A subscription that keeps every message it receives.
class message_collector
{
public:
    message_collector(libnats_peer& peer, const std::string& subject, const std::string& queue = {});
    ~message_collector();
    message_collector(const message_collector&) = delete;
    message_collector& operator=(const message_collector&) = delete;

    natsStatus status() const { return status_; }
    // Waits until at least `count` messages arrived (or the limit passed) and returns them all.
    std::vector<received_message> wait_for(std::size_t count, std::chrono::milliseconds limit);
    std::vector<received_message> messages() const;

    struct state
    {
        mutable std::mutex mutex;
        std::condition_variable arrived;
        std::vector<received_message> messages;
    };

private:
    natsSubscription* subscription_ = nullptr;
    natsStatus status_ = NATS_OK;
    std::unique_ptr<state> state_ = std::make_unique<state>();
};

// A subscription that only counts what it receives: proof that a stream flows through the
// server, without keeping a firehose in memory.
class message_counter
{
public:
    message_counter(libnats_peer& peer, const std::string& subject);
    ~message_counter();
    message_counter(const message_counter&) = delete;
    message_counter& operator=(const message_counter&) = delete;

    natsStatus status() const { return status_; }
    std::uint64_t count() const { return count_->load(); }

private:
    natsSubscription* subscription_ = nullptr;
    natsStatus status_ = NATS_OK;
    std::unique_ptr<std::atomic<std::uint64_t>> count_ = std::make_unique<std::atomic<std::uint64_t>>(0);
};

// Replies to every request on a subject: by default with the request's own body (an echo).
class responder
{
public:
    using handler = std::function<std::string(const received_message&)>;
    responder(libnats_peer& peer, const std::string& subject, handler reply_with = {},
              const std::string& queue = {});
    ~responder();
    responder(const responder&) = delete;
    responder& operator=(const responder&) = delete;

    natsStatus status() const { return status_; }
    std::size_t served() const { return state_->served.load(); }

    struct state
    {
        natsConnection* connection = nullptr;
        handler reply_with;
        std::atomic<std::size_t> served{0};
    };

private:
    natsSubscription* subscription_ = nullptr;
    natsStatus status_ = NATS_OK;
    std::unique_ptr<state> state_ = std::make_unique<state>();
};

} // namespace beamline::test

// Driving the project's NATS client from integration tests: an io_context on worker threads, a way
// to wait for one of the client's coroutines from the test thread, a collector of received messages,
// and client options that reach a test nats-server like a well-behaved user would.
//
// Coroutines are always named functions whose parameters are values or pointers: a capturing
// lambda coroutine handed to co_spawn loses its captures when the temporary closure dies.
#pragma once

#include "beamline/nats/client.hpp"
#include "libnats_peer.hpp"
#include "nats_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace beamline::nats
{
// For test assertions on client states.
inline std::ostream& operator<<(std::ostream& out, connection_state state)
{
    return out << to_string(state);
}
} // namespace beamline::nats

namespace beamline::test
{

namespace asio = boost::asio;

// An io_context run by worker threads for the lifetime of the object. Two threads by default, so a
// subscription handler that blocks does not stop the connection from reading.
class io_runner
{
public:
    explicit io_runner(int threads = 2) : guard_(asio::make_work_guard(io_))
    {
        for (int i = 0; i < threads; ++i)
            threads_.emplace_back([this] { io_.run(); });
    }
    ~io_runner()
    {
        guard_.reset();
        io_.stop();
        for (auto& t : threads_)
            t.join();
    }
    io_runner(const io_runner&) = delete;
    io_runner& operator=(const io_runner&) = delete;

    asio::any_io_executor executor() { return io_.get_executor(); }

    // Runs `op` on the io_context and waits for its result; throws when it does not finish in time.
    template <class T>
    T wait(asio::awaitable<T> op, std::chrono::milliseconds limit = std::chrono::seconds(15))
    {
        auto result = asio::co_spawn(io_, std::move(op), asio::use_future);
        if (result.wait_for(limit) != std::future_status::ready)
            throw std::runtime_error("a client operation did not complete in time");
        return result.get();
    }

private:
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    std::vector<std::thread> threads_;
};

// Collects the messages a subscription of our client receives.
class client_inbox
{
public:
    std::function<void(nats::message)> handler()
    {
        return [this](nats::message m)
        {
            std::lock_guard lock(mutex_);
            messages_.push_back(std::move(m));
            arrived_.notify_all();
        };
    }
    // Waits until at least `count` messages arrived (or the limit passed) and returns them all.
    std::vector<nats::message> wait_for(std::size_t count, std::chrono::milliseconds limit)
    {
        std::unique_lock lock(mutex_);
        arrived_.wait_for(lock, limit, [&] { return messages_.size() >= count; });
        return messages_;
    }
    std::vector<nats::message> messages() const
    {
        std::lock_guard lock(mutex_);
        return messages_;
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable arrived_;
    std::vector<nats::message> messages_;
};

// Client options reaching `server`: its URL, its user/password or token, our CA and, for mutual
// TLS, the client certificate of `identity`. Short reconnect waits keep tests quick.
inline nats::client_options client_options_for(const nats_server& server,
                                               client_identity identity = client_identity::ours)
{
    nats::client_options options;
    options.servers = {server.url()};
    options.name = "beamline-it";
    options.user = server.options().user;
    options.password = server.options().password;
    options.token = server.options().token;
    if (server.options().tls != tls_mode::none)
    {
        const certificate_paths& certs = server.certs();
        options.tls.ca_file = certs.ca.string();
        if (identity == client_identity::ours)
        {
            options.tls.cert_file = certs.client_cert.string();
            options.tls.key_file = certs.client_key.string();
        }
        else if (identity == client_identity::other_ca)
        {
            options.tls.cert_file = certs.other_client_cert.string();
            options.tls.key_file = certs.other_client_key.string();
        }
    }
    return options;
}

// Connects a client to `server` and fails the test case (by exception) when it cannot.
inline std::shared_ptr<nats::client> connected_client(io_runner& io, nats::client_options options,
                                                      nats::client_events events = {})
{
    auto c = nats::client::create(io.executor(), std::move(options), std::move(events));
    if (auto ec = io.wait(c->connect()))
        throw std::runtime_error("connect failed: " + ec.message() + ": " + c->last_error_text());
    return c;
}

// Publishes "0", "1", ... on `subject` from libnats, then flushes: the server has routed them all
// when this returns NATS_OK.
inline natsStatus publish_numbered(libnats_peer& peer, const std::string& subject, int count)
{
    for (int i = 0; i < count; ++i)
        if (natsStatus s = peer.publish(subject, std::to_string(i)); s != NATS_OK) return s;
    return peer.flush();
}

// The payload of message `i` in streaming tests: its number, then bytes that depend on it, so a
// lost, repeated, reordered or torn frame shows.
inline std::string numbered_payload(int i, std::size_t size)
{
    std::string p = std::to_string(i) + ":";
    while (p.size() < size)
        p.push_back(static_cast<char>('a' + (static_cast<std::size_t>(i) + p.size()) % 26));
    return p;
}

// Publishes messages first..first+count-1 (numbered_payload) as fast as the client takes them,
// from the calling thread (a thread of its own, as a bulk publisher's), waiting out back-pressure.
inline void publish_stream(nats::client& c, const std::string& subject, int first, int count, std::size_t size)
{
    for (int i = first; i < first + count; ++i)
    {
        std::string payload = numbered_payload(i, size);
        for (;;)
        {
            auto ec = c.publish(subject, payload);
            if (!ec) break;
            if (ec != nats::errc::pending_buffer_exceeded)
                throw std::runtime_error("publish " + std::to_string(i) + ": " + ec.message());
            std::this_thread::yield();
        }
    }
}

// A libnats synchronous subscription without pending limits: nothing is dropped however fast the
// publisher goes, and messages are read in arrival order.
class stream_reader
{
public:
    stream_reader(libnats_peer& peer, const std::string& subject)
    {
        status_ = natsConnection_SubscribeSync(&sub_, peer.get(), subject.c_str());
        if (status_ == NATS_OK) status_ = natsSubscription_SetPendingLimits(sub_, -1, -1);
    }
    ~stream_reader() { natsSubscription_Destroy(sub_); }
    stream_reader(const stream_reader&) = delete;
    stream_reader& operator=(const stream_reader&) = delete;
    natsStatus status() const { return status_; }

    // Reads `count` messages expecting numbered_payload(first, size), (first + 1, size), ...;
    // returns how many were not as expected or did not come within 5 s each (0: all intact).
    int expect(int first, int count, std::size_t size)
    {
        int wrong = 0;
        for (int i = first; i < first + count; ++i)
        {
            natsMsg* m = nullptr;
            if (natsSubscription_NextMsg(&m, sub_, 5000) != NATS_OK) return wrong + (first + count - i);
            std::string got(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
            natsMsg_Destroy(m);
            if (got != numbered_payload(i, size)) ++wrong;
        }
        return wrong;
    }

private:
    natsSubscription* sub_ = nullptr;
    natsStatus status_ = NATS_OK;
};

// Closes the client and waits until its state says so, so nothing outlives the test's io_runner.
inline void close_and_wait(nats::client& c)
{
    c.close();
    eventually([&] { return c.state() == nats::connection_state::closed; }, std::chrono::seconds(5));
}

} // namespace beamline::test

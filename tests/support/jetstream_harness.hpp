// Driving the JetStream layer from integration tests: a JetStream-enabled nats-server, our client
// and a jetstream::context on it, and small coroutines to wait for from the test thread.
#pragma once

#include "beamline/nats/jetstream/consumer.hpp"
#include "beamline/nats/jetstream/context.hpp"
#include "client_harness.hpp"

#include <memory>
#include <string>
#include <vector>

namespace beamline::test
{

namespace js = beamline::nats::jetstream;

inline nats_server_options jetstream_server_options()
{
    nats_server_options o;
    o.jetstream = true;
    return o;
}

// Our client connected to a JetStream server, with its context. Reconnects quickly.
struct jetstream_client
{
    jetstream_client(io_runner& io, const nats_server& server, js::jetstream_options options = {})
        : core(connected_client(io, quick_reconnect(client_options_for(server)))),
          js(io.executor(), core, std::move(options))
    {
    }
    ~jetstream_client() { close_and_wait(*core); }

    static nats::client_options quick_reconnect(nats::client_options o)
    {
        o.reconnect_wait = std::chrono::milliseconds(100);
        o.max_reconnect = -1;
        return o;
    }

    std::shared_ptr<nats::client> core;
    js::context js;
};

// The fixture of JetStream test cases: a JetStream server, an io_runner and our client on it,
// torn down in the reverse order.
struct jetstream_setup
{
    nats_server server{jetstream_server_options()};
    io_runner io;
    jetstream_client c{io, server};
};

// A stream on `subjects`, memory storage unless `file`; throws when it cannot be made.
inline js::stream_info make_stream(io_runner& io, js::context& ctx, const std::string& name,
                                   std::vector<std::string> subjects, bool file = false)
{
    js::stream_config c;
    c.name = name;
    c.subjects = std::move(subjects);
    c.storage = file ? "file" : "memory";
    auto r = io.wait(ctx.create_stream(c));
    if (r.ec) throw std::runtime_error("create stream " + name + ": " + r.error_text());
    return r.value;
}

inline js::consumer_info make_durable(io_runner& io, js::context& ctx, const std::string& stream,
                                      js::consumer_config c)
{
    auto r = io.wait(ctx.create_consumer(stream, c));
    if (r.ec) throw std::runtime_error("create consumer " + c.durable_name + ": " + r.error_text());
    return r.value;
}

} // namespace beamline::test

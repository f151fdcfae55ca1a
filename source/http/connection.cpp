#include "beamline/http/connection.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <exception>
#include <string>

namespace beamline::http
{
namespace
{

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
/// After a final error reply, how long the client may keep sending before the socket is closed.
constexpr std::chrono::seconds linger_timeout{2};
constexpr std::size_t linger_max_bytes = 1024 * 1024;

bool is_http_error(const boost::system::error_code& ec)
{
    return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

} // namespace

connection::connection(tcp::socket socket, std::shared_ptr<const connection_config> config)
    : stream_(std::move(socket)), deadline_(stream_.get_executor()), config_(std::move(config)),
      waiting_since_(std::chrono::steady_clock::now().time_since_epoch().count())
{
}

void connection::drain()
{
    draining_ = true;
    if (idle_) cancel_io();
}

void connection::force_close()
{
    draining_ = true;
    close();
}

void connection::evict()
{
    if (waiting_since_.load(std::memory_order_relaxed) == busy) return;
    close();
}

void connection::cancel_io()
{
    boost::system::error_code ignored;
    stream_.socket().cancel(ignored);
}

void connection::close()
{
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
}

void connection::arm_deadline(std::chrono::milliseconds after)
{
    deadline_hit_ = false;
    const auto generation = ++deadline_generation_;
    deadline_.expires_after(after);
    // The generation guards against a firing that was already queued when the deadline was re-armed.
    deadline_.async_wait(
        [self = shared_from_this(), generation](const boost::system::error_code& ec)
        {
            if (ec || generation != self->deadline_generation_) return;
            self->deadline_hit_ = true;
            self->cancel_io();
        });
}

void connection::disarm_deadline()
{
    ++deadline_generation_;
    deadline_.cancel();
}

asio::awaitable<void> connection::run()
{
    auto self = shared_from_this();
    const auto& options = config_->options;
    while (!closed_)
    {
        // Until a request's headers are in, the connection costs the server a slot and gives nothing
        // back: it is what the server evicts first when the connection limit is reached.
        waiting_since_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                             std::memory_order_relaxed);
        if (buffer_.size() == 0)
        {
            // Waiting for the first byte is what "idle" means: a drain may close the connection here
            // without cutting a request in half.
            if (draining_) break;
            idle_ = true;
            arm_deadline(options.idle_timeout);
            auto [ec] = co_await stream_.socket().async_wait(tcp::socket::wait_read, use_tuple);
            idle_ = false;
            if (ec || closed_) break;
        }

        arm_deadline(options.request_timeout);
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
        parser.body_limit(options.body_limit);
        boost::system::error_code ec;
        std::size_t n = 0;
        std::tie(ec, n) = co_await bhttp::async_read_header(stream_, buffer_, parser, use_tuple);
        waiting_since_.store(busy, std::memory_order_relaxed);
        if (!ec && beast::iequals(parser.get()[bhttp::field::expect], "100-continue"))
        {
            static constexpr std::string_view proceed = "HTTP/1.1 100 Continue\r\n\r\n";
            std::tie(ec, n) = co_await asio::async_write(stream_, asio::buffer(proceed), use_tuple);
        }
        if (!ec && !parser.is_done())
            std::tie(ec, n) = co_await bhttp::async_read(stream_, buffer_, parser, use_tuple);
        disarm_deadline();
        if (ec)
        {
            if (auto reply = reply_to_read_error(ec)) co_await send_final(std::move(*reply));
            break;
        }
        if (!co_await serve(parser.get())) break;
    }
    disarm_deadline();
    close();
}

std::optional<response> connection::reply_to_read_error(const boost::system::error_code& ec) const
{
    if (closed_) return std::nullopt;
    if (deadline_hit_)
        return error_response(status::request_timeout, "request_timeout",
                              "request not received within " +
                                  std::to_string(config_->options.request_timeout.count()) + " ms");
    if (ec == bhttp::error::body_limit)
        return error_response(status::payload_too_large, "payload_too_large",
                              "request body exceeds the limit of " +
                                  std::to_string(config_->options.body_limit) + " bytes");
    if (ec == bhttp::error::header_limit)
        return error_response(status::request_header_fields_too_large, "header_too_large",
                              "request headers exceed the limit of " +
                                  std::to_string(config_->options.header_limit) + " bytes");
    // The peer going away, between requests or in the middle of one, needs no answer.
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message || !is_http_error(ec))
        return std::nullopt;
    return error_response(status::bad_request, "bad_request", "malformed HTTP request: " + ec.message());
}

request request_view(const bhttp::request<bhttp::string_body>& msg)
{
    request req;
    req.method = msg.method();
    req.target = msg.target();
    const auto question = req.target.find('?');
    req.path = req.target.substr(0, question);
    if (question != std::string_view::npos) req.query = req.target.substr(question + 1);
    req.headers = &msg.base();
    req.body = msg.body();
    return req;
}

asio::awaitable<bool> connection::serve(beast_request& msg)
{
    auto req = request_view(msg);

    response res;
    // A HEAD reply carries the headers a GET would, never a body, whichever route produced it.
    const bool head_only = req.method == verb::head;
    auto resolved = config_->routes.resolve(req.method, req.path);
    if (auto* refusal = std::get_if<response>(&resolved))
        res = std::move(*refusal);
    else
    {
        auto& found = std::get<route_table::match>(resolved);
        req.params = std::move(found.params);
        res = co_await invoke(*found.handler, req);
    }
    const bool keep_alive = msg.keep_alive() && !draining_ && !closed_;
    const bool written = co_await write_response(std::move(res), msg.version(), keep_alive, head_only);
    co_return written&& keep_alive;
}

asio::awaitable<response> connection::invoke(const http::handler& h, const request& req)
{
    std::string what;
    try
    {
        co_return co_await h(req);
    }
    catch (const std::exception& e)
    {
        what = e.what();
    }
    catch (...)
    {
        what = "unknown exception";
    }
    config_->log("error", "handler for " + std::string(bhttp::to_string(req.method)) + " " +
                              std::string(req.path) + " threw: " + what);
    co_return error_response(status::internal_server_error, "internal_error", "the request handler failed");
}

asio::awaitable<bool> connection::write_response(response res, unsigned version, bool keep_alive,
                                                 bool head_only)
{
    bhttp::response<bhttp::string_body> out{res.status, version};
    out.set(bhttp::field::server, "beamline-router");
    out.set(bhttp::field::content_type, res.content_type);
    for (auto& [name, value] : res.headers)
        out.set(name, value);
    out.keep_alive(keep_alive);
    if (head_only)
        out.content_length(res.body.size());
    else
    {
        out.body() = std::move(res.body);
        out.prepare_payload();
    }
    stream_.expires_after(config_->options.write_timeout);
    auto [ec, n] = co_await bhttp::async_write(stream_, out, use_tuple);
    if (!closed_) stream_.expires_never();
    co_return !ec;
}

asio::awaitable<void> connection::send_final(response res)
{
    if (!co_await write_response(std::move(res), 11, false, false) || closed_) co_return;
    // Closing with unread input makes the kernel send a reset, which can destroy the reply before
    // the client reads it: half-close, then read and drop what is still coming, for a bounded time.
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    std::array<char, 4096> scratch{};
    std::size_t dropped = 0;
    stream_.expires_after(linger_timeout);
    while (!ec && dropped < linger_max_bytes)
    {
        std::size_t n = 0;
        std::tie(ec, n) = co_await stream_.async_read_some(asio::buffer(scratch), use_tuple);
        dropped += n;
    }
}

} // namespace beamline::http

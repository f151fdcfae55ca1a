#include "beamline/app/http_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <exception>

namespace beamline::app
{

namespace beast = boost::beast;
namespace asio = boost::asio;

namespace
{

// The call as one asynchronous operation: Beast's tcp_stream applies its deadline only to
// asynchronous operations, so this is what makes `timeout` bound a daemon that accepts the
// connection and then never answers (frozen, stopped with SIGSTOP, out of threads).
asio::awaitable<void> exchange(beast::tcp_stream& stream, asio::ip::tcp::resolver::results_type endpoints,
                               beast::http::request<beast::http::string_body>& req,
                               beast::http::response<beast::http::string_body>& res)
{
    co_await stream.async_connect(endpoints, asio::use_awaitable);
    co_await beast::http::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    co_await beast::http::async_read(stream, buffer, res, asio::use_awaitable);
}

} // namespace

http_reply http_call(const std::string& host, unsigned short port, const std::string& method, const std::string& target,
                     const std::string& body, const std::string& bearer_token, std::chrono::milliseconds timeout)
{
    http_reply out;
    // "0.0.0.0" is where the daemon listens, not an address to call.
    std::string h = (host.empty() || host == "0.0.0.0") ? "127.0.0.1" : (host == "::" ? "::1" : host);
    const std::string where = "http://" + h + ":" + std::to_string(port) + target;
    try
    {
        asio::io_context io;
        asio::ip::tcp::resolver resolver(io);
        auto endpoints = resolver.resolve(h, std::to_string(port));
        beast::tcp_stream stream(io);
        beast::http::request<beast::http::string_body> req(beast::http::string_to_verb(method), target, 11);
        req.set(beast::http::field::host, h);
        req.set(beast::http::field::user_agent, "beamline_router-cli");
        if (!bearer_token.empty()) req.set(beast::http::field::authorization, "Bearer " + bearer_token);
        if (!body.empty())
        {
            req.set(beast::http::field::content_type, "application/json");
            req.body() = body;
        }
        req.prepare_payload();
        beast::http::response<beast::http::string_body> res;
        // One deadline for connect, write and read together.
        stream.expires_after(timeout);
        std::exception_ptr failure;
        asio::co_spawn(io, exchange(stream, endpoints, req, res), [&failure](std::exception_ptr e) { failure = e; });
        io.run();
        if (failure) std::rethrow_exception(failure);
        out.status = static_cast<int>(res.result_int());
        out.body = std::move(res.body());
        beast::error_code ignored;
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    }
    catch (const boost::system::system_error& e)
    {
        out.error = where + ": " +
                    (e.code() == beast::error::timeout
                         ? "no answer within " + std::to_string(timeout.count()) + " ms (timed out)"
                         : e.code().message());
    }
    catch (const std::exception& e)
    {
        out.error = where + ": " + e.what();
    }
    return out;
}

} // namespace beamline::app

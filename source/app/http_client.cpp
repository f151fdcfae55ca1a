#include "beamline/app/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace beamline::app
{

namespace beast = boost::beast;
namespace asio = boost::asio;

http_reply http_call(const std::string& host, unsigned short port, const std::string& method, const std::string& target,
                     const std::string& body, const std::string& bearer_token, std::chrono::milliseconds timeout)
{
    http_reply out;
    // "0.0.0.0" is where the daemon listens, not an address to call.
    std::string h = (host.empty() || host == "0.0.0.0") ? "127.0.0.1" : (host == "::" ? "::1" : host);
    try
    {
        asio::io_context io;
        asio::ip::tcp::resolver resolver(io);
        beast::tcp_stream stream(io);
        stream.expires_after(timeout);
        stream.connect(resolver.resolve(h, std::to_string(port)));
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
        beast::http::write(stream, req);
        beast::flat_buffer buffer;
        beast::http::response<beast::http::string_body> res;
        beast::http::read(stream, buffer, res);
        out.status = static_cast<int>(res.result_int());
        out.body = std::move(res.body());
        beast::error_code ignored;
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    }
    catch (const std::exception& e)
    {
        out.error = "http://" + h + ":" + std::to_string(port) + target + ": " + e.what();
    }
    return out;
}

} // namespace beamline::app

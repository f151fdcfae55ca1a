#pragma once
// A plain Beast client for the server tests: one real loopback connection, every operation bounded
// so a broken server fails the test instead of hanging it.

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <stdexcept>
#include <string>

namespace beamline::http::test
{

namespace bhttp = boost::beast::http;
using client_response = bhttp::response<bhttp::string_body>;

class http_client
{
public:
    explicit http_client(const boost::asio::ip::tcp::endpoint& server) { socket_.connect(server); }

    /// Sends `req` (Host and Content-Length filled in) and reads the reply.
    client_response request(bhttp::verb method, std::string target, std::string body = {},
                            bhttp::fields extra = {})
    {
        bhttp::request<bhttp::string_body> req{method, target, 11};
        for (const auto& f : extra)
            req.set(f.name_string(), f.value());
        req.set(bhttp::field::host, "localhost");
        req.body() = std::move(body);
        req.prepare_payload();
        send(req);
        return read(method == bhttp::verb::head);
    }

    template <class Message>
    void send(Message& msg)
    {
        bounded([&](auto done) { bhttp::async_write(socket_, msg, done); });
    }

    void send_raw(std::string bytes)
    {
        bounded([&](auto done) { boost::asio::async_write(socket_, boost::asio::buffer(bytes), done); });
    }

    /// `head`: the reply is to a HEAD request, so its Content-Length announces a body that never comes.
    client_response read(bool head = false)
    {
        bhttp::response_parser<bhttp::string_body> parser;
        parser.skip(head);
        bounded([&](auto done) { bhttp::async_read(socket_, buffer_, parser, done); });
        return parser.release();
    }

    /// True when the server has closed the connection: the next read sees end of stream (or a reset).
    bool closed_by_server()
    {
        char byte = 0;
        try
        {
            bounded([&](auto done) { socket_.async_read_some(boost::asio::buffer(&byte, 1), done); });
        }
        catch (const boost::system::system_error& e)
        {
            return e.code() == boost::asio::error::eof || e.code() == boost::asio::error::connection_reset;
        }
        return false;
    }

private:
    template <class Start>
    void bounded(Start&& start, std::chrono::seconds limit = std::chrono::seconds(10))
    {
        boost::system::error_code result;
        bool done = false;
        ioc_.restart();
        start(
            [&](const boost::system::error_code& ec, std::size_t)
            {
                result = ec;
                done = true;
            });
        ioc_.run_for(limit);
        if (!done)
        {
            socket_.cancel();
            ioc_.restart();
            ioc_.run();
            throw std::runtime_error("client operation did not complete within the test bound");
        }
        if (result) throw boost::system::system_error(result);
    }

    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::socket socket_{ioc_};
    boost::beast::flat_buffer buffer_;
};

} // namespace beamline::http::test

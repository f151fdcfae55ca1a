#include "beamline/app/http_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <thread>

using namespace beamline::app;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::ip::tcp;

BOOST_AUTO_TEST_SUITE(http_client)

// A daemon that accepts and then never answers (frozen, SIGSTOP'd) must not hang the CLI: the call
// returns with an error naming the timeout. Without a working deadline this test never ends and
// CTest's timeout fails it.
BOOST_AUTO_TEST_CASE(a_peer_that_accepts_and_never_answers_times_out)
{
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = acceptor.local_endpoint().port();
    // The kernel completes the handshake from the backlog: nobody ever accepts, reads or answers.
    const http_reply reply = http_call("127.0.0.1", port, "GET", "/healthz", {}, {}, 200ms);
    BOOST_TEST(reply.status == 0);
    BOOST_TEST(reply.error.find("timed out") != std::string::npos, reply.error);
    BOOST_TEST(reply.error.find("/healthz") != std::string::npos, reply.error);
}

BOOST_AUTO_TEST_CASE(an_answer_is_read_with_status_and_body)
{
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = acceptor.local_endpoint().port();
    std::thread server([&] {
        tcp::socket s = acceptor.accept();
        asio::streambuf head;
        asio::read_until(s, head, "\r\n\r\n");
        const std::string answer = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 14\r\n\r\n{\"status\":\"x\"}";
        asio::write(s, asio::buffer(answer));
    });
    const http_reply reply = http_call("0.0.0.0", port, "GET", "/readyz", {}, {}, 5000ms);
    server.join();
    BOOST_TEST(reply.error.empty(), reply.error);
    BOOST_TEST(reply.status == 503);
    BOOST_TEST(reply.body == R"({"status":"x"})");
}

BOOST_AUTO_TEST_CASE(a_refused_connection_says_so)
{
    asio::io_context io;
    unsigned short port = 0;
    {
        tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        port = acceptor.local_endpoint().port();
    } // closed: nothing listens there now
    const http_reply reply = http_call("127.0.0.1", port, "GET", "/livez", {}, {}, 2000ms);
    BOOST_TEST(reply.status == 0);
    BOOST_TEST(reply.error.find("refused") != std::string::npos, reply.error);
}

BOOST_AUTO_TEST_SUITE_END()

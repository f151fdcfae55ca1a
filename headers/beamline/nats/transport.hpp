#pragma once
// The byte stream under a connection: plain TCP until the server's INFO says "now TLS", then TLS
// over the same socket. A fresh TLS stream is made for every connection (an ssl::stream cannot be
// reused after a failure).

#include "beamline/nats/connect_failure.hpp" // describe_error, for the transport's errors

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace beamline::nats
{

namespace asio = boost::asio;

class transport
{
public:
    explicit transport(asio::any_io_executor ex) : socket_(ex) {}

    asio::ip::tcp::socket& socket() noexcept { return socket_; }
    bool tls() const noexcept { return tls_ != nullptr; }

    /// Wraps the connected socket in TLS and performs the client handshake, verifying `host_name`
    /// (certificate SAN, DNS name or IP address) and sending it as SNI when it is a name.
    asio::awaitable<std::error_code> upgrade_to_tls(asio::ssl::context& ctx, const std::string& host_name,
                                                    bool verify);
    asio::awaitable<std::pair<std::error_code, std::size_t>> read_some(std::span<char> buf);
    asio::awaitable<std::error_code> write_all(std::string_view bytes);
    /// Writes the buffers in order as gathered writes (no copy); they must outlive the operation.
    asio::awaitable<std::error_code> write_all(const std::vector<asio::const_buffer>& buffers);

    /// Closes the socket; pending operations complete with an error. Safe to call twice.
    void close() noexcept;

private:
    asio::ip::tcp::socket socket_;
    std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
};

} // namespace beamline::nats

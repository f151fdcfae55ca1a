#include "beamline/nats/transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>

namespace beamline::nats
{

namespace
{
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

bool is_ip_literal(const std::string& host)
{
    boost::system::error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}
} // namespace

asio::awaitable<std::error_code> transport::upgrade_to_tls(asio::ssl::context& ctx, const std::string& host_name,
                                                           bool verify)
{
    tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, ctx);
    if (!is_ip_literal(host_name)) SSL_set_tlsext_host_name(tls_->native_handle(), host_name.c_str());
    if (verify)
    {
        tls_->set_verify_mode(asio::ssl::verify_peer);
        tls_->set_verify_callback(asio::ssl::host_name_verification(host_name));
    }
    else
    {
        tls_->set_verify_mode(asio::ssl::verify_none);
    }
    auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_tuple);
    co_return ec;
}

asio::awaitable<std::pair<std::error_code, std::size_t>> transport::read_some(std::span<char> buf)
{
    auto b = asio::buffer(buf.data(), buf.size());
    if (tls_)
    {
        auto [ec, n] = co_await tls_->async_read_some(b, use_tuple);
        co_return std::pair<std::error_code, std::size_t>{ec, n};
    }
    auto [ec, n] = co_await socket_.async_read_some(b, use_tuple);
    co_return std::pair<std::error_code, std::size_t>{ec, n};
}

asio::awaitable<std::error_code> transport::write_all(std::string_view bytes)
{
    auto b = asio::buffer(bytes.data(), bytes.size());
    if (tls_)
    {
        auto [ec, n] = co_await asio::async_write(*tls_, b, use_tuple);
        co_return ec;
    }
    auto [ec, n] = co_await asio::async_write(socket_, b, use_tuple);
    co_return ec;
}

asio::awaitable<std::error_code> transport::write_all(const std::vector<asio::const_buffer>& buffers)
{
    if (tls_)
    {
        auto [ec, n] = co_await asio::async_write(*tls_, buffers, use_tuple);
        co_return ec;
    }
    auto [ec, n] = co_await asio::async_write(socket_, buffers, use_tuple);
    co_return ec;
}

void transport::close() noexcept
{
    boost::system::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
}

} // namespace beamline::nats

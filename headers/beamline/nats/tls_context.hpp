#pragma once
// The client's TLS context, built once from tls_options: TLS 1.2 or later, the CA file to verify
// servers against (else the system store, read at the first TLS handshake: parsing it costs
// milliseconds and a plain connection never needs it), and the client certificate and key for
// mutual TLS. A file that cannot be read is a configuration error, reported by connect().

#include "beamline/nats/options.hpp"

#include <boost/asio/ssl/context.hpp>

#include <string>
#include <system_error>

namespace beamline::nats
{

class tls_context
{
public:
    explicit tls_context(const tls_options& o);

    /// The context for a handshake (the system store loaded first when no CA file is given).
    boost::asio::ssl::context& for_handshake();

    /// A CA file, certificate or key that could not be loaded (tls_handshake_failed), and why.
    std::error_code error() const noexcept { return error_; }
    const std::string& error_text() const noexcept { return error_text_; }

private:
    boost::asio::ssl::context ctx_;
    bool use_system_store_;
    bool system_store_loaded_ = false;
    std::error_code error_;
    std::string error_text_;
};

} // namespace beamline::nats

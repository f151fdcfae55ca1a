#include "beamline/nats/tls_context.hpp"

#include "beamline/nats/connect_failure.hpp"
#include "beamline/nats/error.hpp"

namespace beamline::nats
{

namespace ssl = boost::asio::ssl;

tls_context::tls_context(const tls_options& o) : ctx_(ssl::context::tls_client), use_system_store_(o.ca_file.empty())
{
    ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    if (!o.ca_file.empty())
    {
        ctx_.load_verify_file(o.ca_file, ec);
        if (ec)
        {
            error_ = errc::tls_handshake_failed;
            error_text_ = "cannot read TLS CA file \"" + o.ca_file + "\": " + describe_error(ec);
            return;
        }
    }
    if (!o.cert_file.empty())
    {
        ctx_.use_certificate_chain_file(o.cert_file, ec);
        if (!ec) ctx_.use_private_key_file(o.key_file.empty() ? o.cert_file : o.key_file, ssl::context::pem, ec);
        if (ec)
        {
            error_ = errc::tls_handshake_failed;
            error_text_ = "cannot load TLS client certificate/key (\"" + o.cert_file + "\"): " + describe_error(ec);
        }
    }
}

ssl::context& tls_context::for_handshake()
{
    if (use_system_store_ && !system_store_loaded_)
    {
        system_store_loaded_ = true;
        boost::system::error_code ignored; // an unreadable store shows as a verification failure
        ctx_.set_default_verify_paths(ignored);
    }
    return ctx_;
}

} // namespace beamline::nats

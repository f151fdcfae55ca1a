#include "bench_nats.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace beamline::perf
{

bool take_value(int argc, char** argv, int& i, std::string& out, std::string& error)
{
    if (i + 1 >= argc)
    {
        error = std::string("option ") + argv[i] + " needs a value";
        return false;
    }
    out = argv[++i];
    return true;
}

void apply_router_environment(ConnectionSettings& settings)
{
    const std::pair<const char*, std::string*> variables[] = {
        {"BEAMLINE_NATS_URL", &settings.url},
        {"BEAMLINE_NATS_TLS_CA", &settings.tls_ca},
        {"BEAMLINE_NATS_TLS_CERT", &settings.tls_cert},
        {"BEAMLINE_NATS_TLS_KEY", &settings.tls_key},
    };
    for (const auto& [name, target] : variables)
        if (const char* value = std::getenv(name); value != nullptr && *value != '\0') *target = value;
}

bool parse_connection_option(int argc, char** argv, int& i, ConnectionSettings& settings, std::string& error)
{
    const char* option = argv[i];
    std::string* target = nullptr;
    if (std::strcmp(option, "--url") == 0)
        target = &settings.url;
    else if (std::strcmp(option, "--tls-ca") == 0)
        target = &settings.tls_ca;
    else if (std::strcmp(option, "--tls-cert") == 0)
        target = &settings.tls_cert;
    else if (std::strcmp(option, "--tls-key") == 0)
        target = &settings.tls_key;
    else if (std::strcmp(option, "--io-buffer") == 0)
    {
        std::string value;
        if (!take_value(argc, argv, i, value, error)) return true;
        char* end = nullptr;
        const long bytes = std::strtol(value.c_str(), &end, 10);
        if (value.empty() || *end != '\0' || bytes < 0 || bytes > (64 << 20))
            error =
                "--io-buffer needs a byte count (0..67108864, 0: the library's default), got '" + value + "'";
        else
            settings.io_buffer_bytes = static_cast<int>(bytes);
        return true;
    }
    else if (std::strcmp(option, "--send-asap") == 0)
    {
        settings.send_asap = true;
        return true;
    }
    else
        return false;
    take_value(argc, argv, i, *target, error);
    return true;
}

namespace
{

bool check(natsStatus status, const char* what)
{
    if (status == NATS_OK) return true;
    std::fprintf(stderr, "error: %s: %s (%s)\n", what, natsStatus_GetText(status),
                 nats_GetLastError(nullptr));
    return false;
}

} // namespace

natsConnection* connect(const ConnectionSettings& settings)
{
    natsOptions* options = nullptr;
    natsConnection* connection = nullptr;
    bool ok = check(natsOptions_Create(&options), "options") &&
              check(natsOptions_SetURL(options, settings.url.c_str()), "--url") &&
              check(natsOptions_SetSendAsap(options, settings.send_asap), "send-asap") &&
              check(natsOptions_SetMaxPendingMsgs(options, 1 << 20), "pending limit") &&
              check(natsOptions_SetTimeout(options, 5000), "connect timeout") &&
              check(natsOptions_SetAllowReconnect(options, false), "reconnect");
    if (ok && settings.io_buffer_bytes > 0)
        ok = check(natsOptions_SetIOBufSize(options, settings.io_buffer_bytes), "io buffer");
    if (ok && settings.on_closed != nullptr)
        ok = check(natsOptions_SetClosedCB(options, settings.on_closed, nullptr), "closed callback");
    if (ok && !settings.name.empty()) ok = check(natsOptions_SetName(options, settings.name.c_str()), "name");
    const bool tls =
        !settings.tls_ca.empty() || !settings.tls_cert.empty() || settings.url.rfind("tls://", 0) == 0;
    if (ok && tls) ok = check(natsOptions_SetSecure(options, true), "tls");
    if (ok && !settings.tls_ca.empty())
        ok = check(natsOptions_LoadCATrustedCertificates(options, settings.tls_ca.c_str()), "--tls-ca");
    if (ok && (!settings.tls_cert.empty() || !settings.tls_key.empty()))
        ok = check(
            natsOptions_LoadCertificatesChain(options, settings.tls_cert.c_str(), settings.tls_key.c_str()),
            "--tls-cert/--tls-key");
    if (ok) ok = check(natsConnection_Connect(&connection, options), settings.url.c_str());
    natsOptions_Destroy(options);
    return ok ? connection : nullptr;
}

} // namespace beamline::perf

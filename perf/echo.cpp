// beamline_echo: the reference responder for the perf harness. It answers every request on a
// subject (in the router's queue group) with a fixed reply the size of a real decide reply, so a
// benchmark can measure what NATS alone costs on this machine and judge the router against it.
// With --delay-us it stands in for a deliberately slowed router, to prove the perf gate fails.

#include "bench_nats.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <nats/nats.h>
#include <string>
#include <unistd.h>

namespace
{

using namespace beamline::perf;

// Shaped and sized like a router DecideResponse, so both targets move the same bytes.
constexpr char kReply[] =
    R"({"ok":true,"decision":{"provider_id":"openai","priority":50,"reason":"weighted",)"
    R"("expected_latency_ms":250,"expected_cost":0.002,"policy_id":"default",)"
    R"("policy_version":"1"},"context":{"request_id":"r-1","tenant_id":"t-17",)"
    R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}})";

long g_delay_us = 0;

void on_request(natsConnection* connection, natsSubscription*, natsMsg* message, void*)
{
    if (g_delay_us > 0)
    {
        timespec pause{g_delay_us / 1'000'000, (g_delay_us % 1'000'000) * 1000};
        nanosleep(&pause, nullptr);
    }
    if (const char* reply = natsMsg_GetReply(message); reply != nullptr)
    {
        const natsStatus status = natsConnection_Publish(connection, reply, kReply, sizeof kReply - 1);
        if (status != NATS_OK) std::fprintf(stderr, "beamline_echo: reply: %s\n", natsStatus_GetText(status));
    }
    natsMsg_Destroy(message);
}

void on_closed(natsConnection*, void*)
{
    // The server is gone: nothing left to answer, so end like on SIGTERM. Sent to the process,
    // not this thread, because only main waits for it (every other thread blocks it).
    kill(getpid(), SIGTERM);
}

const char* const kUsage =
    "usage: beamline_echo [--url URL] [--tls-ca F --tls-cert F --tls-key F]\n"
    "                     [--send-asap] [--subject S] [--queue Q] [--delay-us N]\n"
    "  The connection defaults to BEAMLINE_NATS_URL and BEAMLINE_NATS_TLS_{CA,CERT,KEY}.\n"
    "  --send-asap     write each reply at once instead of letting the library batch\n"
    "  --subject S     subject to answer [beamline.router.v1.decide]\n"
    "  --queue Q       queue group [beamline-router]\n"
    "  --delay-us N    sleep N microseconds before each reply (a slowed stand-in)\n"
    "Runs until SIGTERM or SIGINT.\n";

} // namespace

int main(int argc, char** argv)
{
    ConnectionSettings settings;
    settings.name = "beamline_echo";
    settings.on_closed = on_closed;
    apply_router_environment(settings);
    std::string subject = "beamline.router.v1.decide";
    std::string queue = "beamline-router";
    std::string error;
    for (int i = 1; i < argc && error.empty(); ++i)
    {
        const std::string option = argv[i];
        std::string value;
        if (option == "--help" || option == "-h")
        {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (parse_connection_option(argc, argv, i, settings, error)) continue;
        if (!take_value(argc, argv, i, value, error)) break;
        if (option == "--subject")
            subject = value;
        else if (option == "--queue")
            queue = value;
        else if (option == "--delay-us")
        {
            char* end = nullptr;
            g_delay_us = std::strtol(value.c_str(), &end, 10);
            if (value.empty() || *end != '\0' || g_delay_us < 0 || g_delay_us > 10'000'000)
                error = "--delay-us needs a whole number of microseconds (0..10000000), got '" + value + "'";
        }
        else
            error = "unknown option " + option;
    }
    if (!error.empty())
    {
        std::fprintf(stderr, "beamline_echo: %s\n%s", error.c_str(), kUsage);
        return 2;
    }

    // Block the stop signals before the library starts its threads, so only sigwait sees them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    natsConnection* connection = connect(settings);
    if (connection == nullptr) return 1;
    natsSubscription* subscription = nullptr;
    natsStatus status = natsConnection_QueueSubscribe(&subscription, connection, subject.c_str(),
                                                      queue.c_str(), on_request, nullptr);
    if (status == NATS_OK) status = natsSubscription_SetPendingLimits(subscription, -1, -1);
    if (status == NATS_OK) status = natsConnection_Flush(connection);
    int exit_code = 0;
    if (status != NATS_OK)
    {
        std::fprintf(stderr, "beamline_echo: subscribe %s: %s\n", subject.c_str(),
                     natsStatus_GetText(status));
        exit_code = 1;
    }
    else
    {
        int signal_number = 0;
        sigwait(&stop_signals, &signal_number);
    }
    natsSubscription_Destroy(subscription);
    natsConnection_Close(connection);
    natsConnection_Destroy(connection);
    nats_Close();
    return exit_code;
}

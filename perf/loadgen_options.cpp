#include "loadgen_options.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace beamline::perf
{

const char* const kUsage =
    "usage: beamline_loadgen [options]\n"
    "  --url URL               nats://host:port or tls://host:port\n"
    "  --tls-ca F --tls-cert F --tls-key F   TLS trust and client certificate\n"
    "  --send-asap             write each request at once (low-rate latency) instead of\n"
    "                          letting the library batch writes (throughput)\n"
    "  --subject S             request subject [beamline.router.v1.decide]\n"
    "  --target LABEL=SUBJECT  repeatable: interleave requests over several subjects and\n"
    "                          report each apart\n"
    "  --inflight N            closed loop with N requests outstanding (per target)\n"
    "  --rate R                open loop at R requests per second (per target)\n"
    "  --duration S            measured seconds [10]; 0 with --wait-ready only probes\n"
    "  --warmup S              unmeasured seconds before [2]\n"
    "  --timeout S             a request without a reply after S seconds is an error [5]\n"
    "  --payload-file F        send F verbatim instead of generated decide requests\n"
    "  --tenants K             generated tenant ids t-0..t-(K-1) [1000]\n"
    "  --tenant-offset O       ... shifted to t-O..t-(O+K-1) [0]\n"
    "  --users U               generated user ids u-0..u-(U-1) [10000]\n"
    "  --policy-id P           generated policy_id [default]\n"
    "  --check-ok              replies not starting with {\"ok\":true count as errors\n"
    "                          (an \"overloaded\" refusal is always counted apart, as\n"
    "                          \"overloaded\", and out of \"accepted_latency_us\")\n"
    "  --idempotent            every generated request carries an idempotency key of its own\n"
    "                          (a new decision each, never a replay)\n"
    "  --wait-ready S          first send single requests until one succeeds, for up to S s\n"
    "  --label L               copied into the output as \"target\"\n"
    "  --cpu-pid LABEL=PID     repeatable: report the CPU time (utime+stime) of PID over the\n"
    "                          measured window under \"cpu_us\".LABEL (summed when repeated)\n";

namespace
{

bool parse_number(const std::string& text, double& out)
{
    char* end = nullptr;
    out = std::strtod(text.c_str(), &end);
    return !text.empty() && end == text.c_str() + text.size() && std::isfinite(out) && out >= 0;
}

bool read_file(const std::string& path, std::string& out)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream buffer;
    buffer << in.rdbuf();
    out = buffer.str();
    return true;
}

} // namespace

int parse_arguments(int argc, char** argv, Config& config)
{
    std::string error;
    for (int i = 1; i < argc && error.empty(); ++i)
    {
        const std::string option = argv[i];
        std::string value;
        double number = 0;
        if (option == "--help" || option == "-h")
        {
            std::fputs(kUsage, stdout);
            return -1;
        }
        if (parse_connection_option(argc, argv, i, config.connection, error)) continue;
        if (option == "--check-ok")
        {
            config.check_ok = true;
            continue;
        }
        if (option == "--idempotent")
        {
            config.idempotent = true;
            continue;
        }
        if (!take_value(argc, argv, i, value, error)) break;
        const bool numeric = option != "--subject" && option != "--label" && option != "--target" &&
                             option != "--payload-file" && option != "--policy-id" && option != "--cpu-pid";
        if (numeric && !parse_number(value, number))
        {
            error = "option " + option + " needs a non-negative number, got '" + value + "'";
            break;
        }
        if (option == "--subject")
            config.subject = value;
        else if (option == "--target")
        {
            const auto equals = value.find('=');
            if (equals == std::string::npos || equals == 0 || equals + 1 == value.size())
                error = "--target needs LABEL=SUBJECT, got '" + value + "'";
            else
                config.targets.push_back({value.substr(0, equals), value.substr(equals + 1)});
        }
        else if (option == "--label")
            config.label = value;
        else if (option == "--cpu-pid")
        {
            const auto equals = value.find('=');
            double pid = 0;
            if (equals == std::string::npos || equals == 0 || !parse_number(value.substr(equals + 1), pid) ||
                pid < 1)
                error = "--cpu-pid needs LABEL=PID, got '" + value + "'";
            else
                config.cpu_pids.emplace_back(value.substr(0, equals), static_cast<long>(pid));
        }
        else if (option == "--policy-id")
            config.policy_id = value;
        else if (option == "--payload-file")
        {
            if (!read_file(value, config.payload)) error = "cannot read --payload-file " + value;
        }
        else if (option == "--duration")
            config.duration_s = number;
        else if (option == "--warmup")
            config.warmup_s = number;
        else if (option == "--timeout")
            config.timeout_s = number;
        else if (option == "--wait-ready")
            config.wait_ready_s = number;
        else if (option == "--inflight")
            config.inflight = static_cast<unsigned>(number);
        else if (option == "--rate")
            config.rate = number;
        else if (option == "--tenants")
            config.tenants = static_cast<unsigned>(number);
        else if (option == "--tenant-offset")
            config.tenant_offset = static_cast<unsigned>(number);
        else if (option == "--users")
            config.users = static_cast<unsigned>(number);
        else
            error = "unknown option " + option;
    }
    if (config.targets.empty()) config.targets.push_back({config.label, config.subject});
    const bool measuring = config.duration_s > 0;
    if (error.empty() && measuring && (config.inflight == 0) == (config.rate == 0))
        error = "give exactly one of --inflight N (closed loop) or --rate R (open loop)";
    if (error.empty() && (config.tenants == 0 || config.users == 0))
        error = "--tenants and --users must be at least 1";
    if (error.empty() && config.timeout_s <= 0) error = "--timeout must be positive";
    if (error.empty() && config.warmup_s + config.duration_s + config.timeout_s > 3600)
        error = "a run is limited to one hour";
    if (error.empty() && config.targets.size() > 16) error = "at most 16 targets";
    // The open-loop ring holds every request that may still be answered: rate x timeout of them.
    if (error.empty() && config.rate * double(config.targets.size()) * (config.timeout_s + 1.0) > 8e6)
        error = "--rate x --timeout is too large: at most 8,000,000 requests may be outstanding";
    if (error.empty() && config.inflight > 1'000'000) error = "--inflight is limited to 1000000";
    if (error.empty() && config.rate > 10'000'000) error = "--rate is limited to 10000000";
    if (error.empty()) return 0;
    std::fprintf(stderr, "beamline_loadgen: %s\n%s", error.c_str(), kUsage);
    return 2;
}

} // namespace beamline::perf

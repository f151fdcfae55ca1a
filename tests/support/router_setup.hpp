// A whole router deployment for integration tests: a real nats-server, a policies directory, the
// daemon connected to it and a libnats caller on the same server.
#pragma once

#include "libnats_peer.hpp"
#include "nats_server.hpp"
#include "router_process.hpp"

#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>

namespace beamline::test
{

inline const std::string decide_subject = "beamline.router.v1.decide";

// Two weighted providers with their figures: openai 70 (250 ms, 0.002), anthropic 30 (300 ms, 0.003).
inline constexpr const char* two_provider_policy = R"({"version":"7",
  "providers":[{"name":"openai","weight":70,"expected_latency_ms":250,"cost":0.002},
               {"name":"anthropic","weight":30,"expected_latency_ms":300,"cost":0.003}]})";

struct router_setup
{
    // Writes the policies (before the daemon starts, which loads them), then starts the daemon with
    // the server's URL and certificates, the policies directory and `extra_env`, and connects the caller.
    router_setup(nats_server_options server_options,
                 const std::function<void(const policy_dir&)>& write_policies,
                 const env_list& extra_env = {});

    // The environment the daemon was given, for starting another one like it.
    env_list env() const;

    // A decide request and its reply; a missing reply fails the test case.
    received_message ask(const std::string& body, const header_list& headers = {});
    boost::json::object ask_json(const std::string& body, const header_list& headers = {});

    nats_server server;
    policy_dir policies;
    env_list extra;
    std::optional<router_process> router;
    std::optional<libnats_peer> caller;
};

} // namespace beamline::test

// A real 3-node nats-server cluster with JetStream for integration tests: three nats_server nodes on
// free loopback ports (client, monitoring and route ports), each in its own temporary directory,
// joined by routes into one cluster. Ready means what scripts/nats_cluster.sh start waits for:
// every running node answers /healthz (on 2.9 that includes contact with a JetStream meta leader),
// has a route to every other running node, and /jsz names a meta leader.
//
// A node can be killed (SIGKILL), stopped and started again on the same ports with its store, for
// fault tests. The routes are plain TCP on loopback; clients get the TLS mode of the options.
#pragma once

#include "nats_server.hpp"
#include "router_process.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace beamline::test
{

struct nats_cluster_options
{
    tls_mode tls = tls_mode::none;
    std::string name = "beamline-test";
    // Bound for the cluster to become ready (construction, start()); it throws past it.
    std::chrono::milliseconds ready_limit{30000};
};

class nats_cluster
{
public:
    static constexpr std::size_t size = 3;

    // Starts the three nodes and waits until the cluster is ready; throws std::runtime_error with
    // what the late node lacks and its log otherwise.
    explicit nats_cluster(nats_cluster_options options = {});
    ~nats_cluster();
    nats_cluster(const nats_cluster&) = delete;
    nats_cluster& operator=(const nats_cluster&) = delete;

    nats_server& node(std::size_t index) { return *nodes_.at(index); }
    const nats_server& node(std::size_t index) const { return *nodes_.at(index); }
    std::uint16_t route_port(std::size_t index) const { return route_ports_.at(index); }
    // The node's server_name, as /jsz and /varz report it.
    std::string node_name(std::size_t index) const;

    // The three client URLs, comma-separated, starting with node `first` and going round: a value
    // for nats.url, in a different order for each router.
    std::string urls(std::size_t first = 0) const;
    // The node whose client port `server` names (a URL or host:port as a client reports it).
    std::optional<std::size_t> node_of(std::string_view server) const;
    // The client's certificates (empty paths without TLS).
    const certificate_paths& certs() const { return nodes_.front()->certs(); }

    // SIGKILL, SIGTERM, and start again (same ports, same store; waits until ready()).
    void kill(std::size_t index) { node(index).kill(); }
    void stop(std::size_t index) { node(index).stop(); }
    void start(std::size_t index);

    // Empty when every running node is ready; else what the first one that is not lacks.
    std::string not_ready() const;
    // Polls not_ready() until it is empty; false at the limit.
    bool wait_ready(std::chrono::milliseconds limit) const;
    // The end of each node's log, for failure messages.
    std::string logs() const;

private:
    nats_cluster_options options_;
    std::array<std::uint16_t, size> route_ports_{};
    std::vector<std::unique_ptr<nats_server>> nodes_;
};

// BEAMLINE_NATS_URL listing the cluster's nodes from `first` on, and the TLS files when the cluster
// uses TLS: the environment of a router on the cluster.
env_list router_nats_env(const nats_cluster& cluster, std::size_t first);

} // namespace beamline::test

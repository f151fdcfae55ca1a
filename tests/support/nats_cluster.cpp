#include "nats_cluster.hpp"

#include "beamline/app/http_client.hpp"

#include <boost/json.hpp>
#include <stdexcept>
#include <thread>

namespace beamline::test
{
using namespace std::chrono_literals;

namespace
{

// The JSON object a node's monitoring endpoint serves, or nullopt (with why) when it does not answer.
std::optional<boost::json::object> monitor_json(const nats_server& node, const std::string& target,
                                                std::string& why)
{
    auto reply = app::http_call("127.0.0.1", node.monitor_port(), "GET", target, {}, {}, 2s);
    boost::system::error_code ec;
    auto value = boost::json::parse(reply.body, ec);
    if (ec || !value.is_object())
    {
        why = target + " answered " + std::to_string(reply.status) + " " + reply.body.substr(0, 200) + reply.error;
        return std::nullopt;
    }
    return value.as_object();
}

std::string cluster_config(const std::string& server_name, const std::string& cluster_name,
                           std::uint16_t route_port, const std::array<std::uint16_t, nats_cluster::size>& routes)
{
    std::string text = "server_name: \"" + server_name + "\"\ncluster {\n  name: \"" + cluster_name +
                       "\"\n  listen: \"127.0.0.1:" + std::to_string(route_port) + "\"\n  routes: [";
    for (std::size_t i = 0; i < routes.size(); ++i)
        text += (i ? ", " : "") + std::string("nats-route://127.0.0.1:") + std::to_string(routes[i]);
    return text + "]\n}\n";
}

} // namespace

nats_cluster::nats_cluster(nats_cluster_options options) : options_(std::move(options))
{
    for (auto& port : route_ports_)
        port = free_loopback_port();
    for (std::size_t i = 0; i < size; ++i)
    {
        nats_server_options node_options{.tls = options_.tls, .jetstream = true};
        node_options.extra_config = cluster_config(node_name(i), options_.name, route_ports_[i], route_ports_);
        nodes_.push_back(std::make_unique<nats_server>(std::move(node_options)));
    }
    if (!wait_ready(options_.ready_limit))
        throw std::runtime_error("the nats-server cluster is not ready after " +
                                 std::to_string(options_.ready_limit.count()) + " ms: " + not_ready() + logs());
}

nats_cluster::~nats_cluster() = default;

std::string nats_cluster::node_name(std::size_t index) const
{
    return options_.name + "-node" + std::to_string(index + 1);
}

std::string nats_cluster::urls(std::size_t first) const
{
    std::string out;
    for (std::size_t k = 0; k < size; ++k)
        out += (k ? "," : "") + nodes_.at((first + k) % size)->url();
    return out;
}

std::optional<std::size_t> nats_cluster::node_of(std::string_view server) const
{
    auto colon = server.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto port = server.substr(colon + 1);
    for (std::size_t i = 0; i < size; ++i)
        if (port == std::to_string(nodes_[i]->port())) return i;
    return std::nullopt;
}

void nats_cluster::start(std::size_t index)
{
    node(index).start();
    if (!wait_ready(options_.ready_limit))
        throw std::runtime_error("node " + std::to_string(index + 1) + " restarted, but the cluster is not ready after " +
                                 std::to_string(options_.ready_limit.count()) + " ms: " + not_ready() + logs());
}

std::string nats_cluster::logs() const
{
    std::string out;
    for (std::size_t i = 0; i < size; ++i)
    {
        std::string text = nodes_[i]->log();
        constexpr std::size_t tail = 3000;
        if (text.size() > tail) text = "..." + text.substr(text.size() - tail);
        out += "\n----- log of " + node_name(i) + " -----\n" + text;
    }
    return out;
}

std::string nats_cluster::not_ready() const
{
    std::size_t running = 0;
    for (const auto& n : nodes_)
        running += n->running() ? 1 : 0;
    for (std::size_t i = 0; i < size; ++i)
    {
        const nats_server& n = *nodes_[i];
        if (!n.running()) continue;
        std::string who = node_name(i) + " (client port " + std::to_string(n.port()) + "): ";
        std::string why;
        auto health = monitor_json(n, "/healthz", why);
        if (!health) return who + why;
        if (health->at("status") != "ok") return who + "/healthz " + boost::json::serialize(*health);
        auto routez = monitor_json(n, "/routez", why);
        if (!routez) return who + why;
        auto routes = routez->at("num_routes").to_number<std::size_t>();
        if (routes < running - 1)
            return who + "routes " + std::to_string(routes) + "/" + std::to_string(running - 1);
        auto jsz = monitor_json(n, "/jsz", why);
        if (!jsz) return who + why;
        const auto* meta = jsz->if_contains("meta_cluster");
        const auto* leader = meta && meta->is_object() ? meta->as_object().if_contains("leader") : nullptr;
        if (!leader || !leader->is_string() || leader->as_string().empty())
            return who + "no JetStream meta leader in /jsz";
    }
    return {};
}

bool nats_cluster::wait_ready(std::chrono::milliseconds limit) const
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!not_ready().empty())
    {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(100ms);
    }
    return true;
}

env_list router_nats_env(const nats_cluster& cluster, std::size_t first)
{
    auto env = router_nats_env(cluster.node(first));
    env.front().second = cluster.urls(first);
    return env;
}

} // namespace beamline::test

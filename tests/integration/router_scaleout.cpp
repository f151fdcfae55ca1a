// Three routers on a 3-node nats-server cluster (mutual TLS), each given all three nodes in
// nats.url in a different order, under steady decide load from libnats callers, one caller per node.
// Every request carries its own id and reply subject, so replies are counted per request:
//   * the queue group shares decide among the routers (each router's own /metrics);
//   * after `kill -9` of a router, every request sent more than 2 s after the kill is answered, and
//     what went unanswered had been delivered to the killed router;
//   * after `kill -9` of the nats-server node a router is connected to, that router reconnects to
//     another node, and every request sent after it did is answered, some of them by it.
// No request is answered twice. Waits are bounded polls of observable state, never sleeps that
// hope for an outcome; the only time rule is the contract's "more than 2 s after the kill".
#include "libnats_peer.hpp"
#include "nats_cluster.hpp"
#include "router_process.hpp"
#include "router_setup.hpp"

#include <atomic>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace beamline::test;
using namespace std::chrono_literals;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

namespace
{

constexpr int tenants = 4;
const std::string reply_prefix = "scaleout.reply.";

std::string router_name(std::size_t i)
{
    return "scaleout-router-" + std::to_string(i);
}

// The cluster, the policies and three routers, router i listing the nodes from node i on.
struct scaleout_deployment
{
    scaleout_deployment()
    {
        for (int t = 0; t < tenants; ++t)
            policies.write("tenant-" + std::to_string(t), "default", two_provider_policy);
        for (std::size_t i = 0; i < nats_cluster::size; ++i)
        {
            auto env = router_nats_env(cluster, i);
            env.emplace_back("BEAMLINE_ROUTER_POLICIES_DIR", policies.path().string());
            env.emplace_back("BEAMLINE_NATS_NAME", router_name(i));
            env.emplace_back("BEAMLINE_ROUTER_TENANT_INFLIGHT_MAX", "100000");
            routers.push_back(std::make_unique<router_process>(env));
        }
        for (std::size_t i = 0; i < routers.size(); ++i)
        {
            auto node = node_of_router(i);
            BOOST_TEST_MESSAGE(router_name(i) << " is on node " << (node ? std::to_string(*node + 1) : "none"));
        }
    }

    json::object status(std::size_t router) const
    {
        auto reply = routers.at(router)->http_get("/v1/status");
        BOOST_TEST_INFO("/v1/status: " << reply.status << " " << reply.body.substr(0, 300) << reply.error);
        BOOST_TEST_REQUIRE(reply.status == 200);
        return json::parse(reply.body).as_object();
    }

    // The node the router's NATS connection is on, from its /v1/status; nullopt while disconnected.
    std::optional<std::size_t> node_of_router(std::size_t router) const
    {
        auto nats = status(router).at("nats").as_object();
        if (nats.at("state") != "connected") return std::nullopt;
        return cluster.node_of(std::string(nats.at("server").as_string()));
    }

    // Decide requests the router counted, every outcome: the sum of router_decide_requests_total.
    long decided(std::size_t router) const
    {
        auto reply = routers.at(router)->http_get("/metrics");
        BOOST_TEST_REQUIRE(reply.status == 200);
        long total = 0;
        std::istringstream lines(reply.body);
        for (std::string line; std::getline(lines, line);)
            if (line.rfind("router_decide_requests_total{", 0) == 0) total += std::stol(line.substr(line.rfind(' ') + 1));
        return total;
    }

    nats_cluster cluster{nats_cluster_options{.tls = tls_mode::mutual}};
    policy_dir policies;
    std::vector<std::unique_ptr<router_process>> routers;
};

// Decide requests at a steady pace from its own thread, round-robin over callers each connected to
// one node only; every request's send time is kept, and every reply is collected.
class steady_load
{
public:
    steady_load(const nats_cluster& cluster, const std::vector<std::size_t>& nodes)
    {
        for (auto node : nodes)
        {
            auto options = options_for(cluster.node(node));
            options.name = "scaleout-caller-" + std::to_string(node + 1);
            callers_.push_back(std::make_unique<libnats_peer>(options));
            BOOST_TEST_REQUIRE(callers_.back()->connected(), callers_.back()->error());
            // Each caller its own reply subjects: a collector sees only its caller's replies.
            replies_.push_back(std::make_unique<message_collector>(
                *callers_.back(), reply_prefix + std::to_string(callers_.size() - 1) + ".>"));
            BOOST_TEST_REQUIRE(replies_.back()->status() == NATS_OK);
            BOOST_TEST_REQUIRE(callers_.back()->flush() == NATS_OK);
        }
    }
    ~steady_load() { stop(); }

    // Starts publishing; `limit` requests at most (0: until stop()).
    void start(int limit = 0)
    {
        thread_ = std::thread(
            [this, limit]
            {
                for (int seq = 0; !stopping_.load() && (limit == 0 || seq < limit); ++seq)
                {
                    auto id = std::to_string(seq);
                    auto caller = static_cast<std::size_t>(seq) % callers_.size();
                    {
                        std::lock_guard lock(mutex_);
                        sent_at_.push_back(steady::now());
                    }
                    callers_[caller]->publish(decide_subject,
                                              decide_request("tenant-" + std::to_string(seq % tenants), "r-" + id),
                                              {}, reply_prefix + std::to_string(caller) + "." + id);
                    std::this_thread::sleep_for(3ms);
                }
            });
    }
    // Stops publishing; after start(limit), finish() waits for the last of them instead.
    void stop()
    {
        stopping_.store(true);
        finish();
    }
    void finish()
    {
        if (thread_.joinable()) thread_.join();
    }

    std::size_t sent() const
    {
        std::lock_guard lock(mutex_);
        return sent_at_.size();
    }
    // Requests published at or after `since`.
    std::size_t sent_since(steady::time_point since) const
    {
        std::lock_guard lock(mutex_);
        std::size_t n = 0;
        for (auto at : sent_at_)
            n += at >= since ? 1 : 0;
        return n;
    }

    // Replies per request sequence number. A body-less message is nats-server's "no responders"
    // status, not a reply.
    std::map<std::size_t, int> replies() const
    {
        std::map<std::size_t, int> counts;
        for (const auto& collector : replies_)
            for (const auto& m : collector->messages())
                if (!m.data.empty()) ++counts[std::stoul(m.subject.substr(m.subject.rfind('.') + 1))];
        return counts;
    }
    std::size_t answered() const { return replies().size(); }

    // Sequence numbers of the requests sent at or after `since` (all of them when nullopt) that
    // have no reply.
    std::vector<std::size_t> unanswered(std::optional<steady::time_point> since = std::nullopt) const
    {
        auto counts = replies();
        std::lock_guard lock(mutex_);
        std::vector<std::size_t> out;
        for (std::size_t seq = 0; seq < sent_at_.size(); ++seq)
            if ((!since || sent_at_[seq] >= *since) && !counts.contains(seq)) out.push_back(seq);
        return out;
    }
    // Waits (bounded) until every request sent at or after `since` has its reply.
    bool wait_answered(std::optional<steady::time_point> since, std::chrono::milliseconds limit) const
    {
        return eventually([&] { return unanswered(since).empty(); }, limit);
    }
    // Requests answered more than once.
    int duplicated() const
    {
        int n = 0;
        for (const auto& [seq, count] : replies())
            n += count > 1 ? 1 : 0;
        return n;
    }

private:
    std::vector<std::unique_ptr<libnats_peer>> callers_;
    std::vector<std::unique_ptr<message_collector>> replies_;
    mutable std::mutex mutex_;
    std::vector<steady::time_point> sent_at_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

std::string first_of(const std::vector<std::size_t>& seqs)
{
    std::string out;
    for (std::size_t i = 0; i < seqs.size() && i < 10; ++i)
        out += (i ? ", r-" : "r-") + std::to_string(seqs[i]);
    return out;
}

// How many messages a node delivered to the (closed) connection named `name`: its /connz out_msgs.
std::optional<long> delivered_to(const nats_server& node, const std::string& name)
{
    auto r = beamline::app::http_call("127.0.0.1", node.monitor_port(), "GET", "/connz?state=all&limit=1024");
    BOOST_TEST_REQUIRE(r.status == 200);
    auto connz = json::parse(r.body); // a named value: the loop must not outlive it
    for (const auto& c : connz.at("connections").as_array())
        if (const auto* n = c.as_object().if_contains("name"); n && n->is_string() && n->as_string() == name)
            return c.at("out_msgs").to_number<long>();
    return std::nullopt;
}

const std::vector<std::size_t> every_node{0, 1, 2};

} // namespace

BOOST_AUTO_TEST_SUITE(router_scaleout)

BOOST_AUTO_TEST_CASE(the_queue_group_shares_decide_among_the_three_routers)
{
    scaleout_deployment d;
    steady_load load(d.cluster, every_node);
    constexpr int requests = 600;
    load.start(requests);
    load.finish();
    BOOST_TEST_REQUIRE(load.wait_answered(std::nullopt, 60s),
                       load.unanswered().size() << " unanswered, first: " << first_of(load.unanswered()));
    BOOST_TEST(load.answered() == std::size_t(requests));
    BOOST_TEST(load.duplicated() == 0);

    // Every router is on a node that has a caller, and nats-server hands a queue message to a
    // member on the publisher's node when it has one: each router serves a share.
    long total = 0;
    for (std::size_t i = 0; i < d.routers.size(); ++i)
    {
        long n = d.decided(i);
        BOOST_TEST_MESSAGE(router_name(i) << " decided " << n << " requests");
        BOOST_TEST(n > 0, router_name(i) << " decided nothing");
        total += n;
    }
    BOOST_TEST(total == requests);
}

BOOST_AUTO_TEST_CASE(kill_9_of_a_router_leaves_unanswered_only_what_it_held)
{
    scaleout_deployment d;
    auto victim_node = d.node_of_router(0);
    BOOST_TEST_REQUIRE(victim_node.has_value());
    steady_load load(d.cluster, every_node);
    load.start();
    BOOST_TEST_REQUIRE(eventually([&] { return load.answered() >= 300; }, 60s));

    long decided_before_kill = d.decided(0);
    auto killed_at = steady::now();
    d.routers[0]->signal(SIGKILL);
    BOOST_TEST_REQUIRE(d.routers[0]->wait_exit(10s).has_value());
    auto rule_from = killed_at + 2s;
    // Load on: at least 300 requests from more than 2 s after the kill.
    BOOST_TEST_REQUIRE(eventually([&] { return steady::now() > rule_from && load.sent_since(rule_from) >= 300; }, 120s));
    load.stop();

    BOOST_TEST(load.wait_answered(rule_from, 60s));
    auto late = load.unanswered(rule_from);
    BOOST_TEST(late.empty(), late.size() << " requests sent more than 2 s after the kill got no reply, first: "
                                         << first_of(late));
    BOOST_TEST(load.duplicated() == 0);

    // What went unanswered was inside the killed router: delivered to it and not yet decided by it
    // when its count was last read before the kill.
    auto lost = load.unanswered();
    auto delivered = delivered_to(d.cluster.node(*victim_node), router_name(0));
    BOOST_TEST_REQUIRE(delivered.has_value(), "the killed router's connection is not in /connz");
    BOOST_TEST_MESSAGE("sent " << load.sent() << ", unanswered " << lost.size() << ", delivered to the killed router "
                               << *delivered << ", decided by it before the kill " << decided_before_kill);
    BOOST_TEST(long(lost.size()) <= *delivered - decided_before_kill);
    for (std::size_t i = 1; i < d.routers.size(); ++i)
        BOOST_TEST(d.routers[i]->http_get("/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(kill_9_of_its_nats_node_moves_a_router_to_another_node)
{
    scaleout_deployment d;
    auto lost_node = d.node_of_router(0);
    BOOST_TEST_REQUIRE(lost_node.has_value());
    // The callers stay off the node that is killed: what is measured is the router's reconnect.
    std::vector<std::size_t> caller_nodes;
    for (auto n : every_node)
        if (n != *lost_node) caller_nodes.push_back(n);
    steady_load load(d.cluster, caller_nodes);
    load.start();
    BOOST_TEST_REQUIRE(eventually([&] { return load.answered() >= 200; }, 60s));

    d.cluster.kill(*lost_node);
    std::optional<std::size_t> now_on;
    BOOST_TEST_REQUIRE(eventually(
                           [&]
                           {
                               now_on = d.node_of_router(0);
                               return now_on.has_value() && *now_on != *lost_node;
                           },
                           60s),
                       router_name(0) << " did not reconnect to another node; /v1/status: "
                                      << json::serialize(d.status(0)));
    auto reconnected_at = steady::now();
    long decided_at_reconnect = d.decided(0);
    BOOST_TEST_MESSAGE(router_name(0) << " moved from node " << *lost_node + 1 << " to node " << *now_on + 1);
    BOOST_TEST_REQUIRE(eventually([&] { return load.sent_since(reconnected_at) >= 300; }, 120s));
    load.stop();

    BOOST_TEST(load.wait_answered(reconnected_at, 60s));
    auto late = load.unanswered(reconnected_at);
    BOOST_TEST(late.empty(), late.size() << " requests sent after the router reconnected got no reply, first: "
                                         << first_of(late));
    BOOST_TEST(load.duplicated() == 0);
    // Its new node has a caller, whose requests go to a member on that node first: it serves again.
    BOOST_TEST(d.decided(0) > decided_at_reconnect, router_name(0) << " decided nothing after reconnecting");
    BOOST_TEST(d.routers[0]->http_get("/healthz").status == 200);
}

BOOST_AUTO_TEST_SUITE_END()

// The router under steady load while its nats-server is killed (SIGKILL) and restarted, then frozen
// (SIGSTOP) and thawed. A libnats caller publishes decide requests at a steady pace, each with its
// own reply subject, and counts the replies per request. Whatever the faults did: no request is
// answered twice; every request sent while the system was steady is answered; and the router is
// healthy again after each fault (the time it took is reported, bounded generously, not asserted
// tight: this machine is shared).
#include "router_setup.hpp"

#include <boost/test/unit_test.hpp>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace beamline::test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace
{

const char* openai_only = R"({"version":"1",
  "providers":[{"name":"openai","weight":1,"expected_latency_ms":250,"cost":0.002}]})";
const std::string reply_prefix = "chaos.reply.";

/// Publishes decide requests at a steady pace from its own thread. Each request id carries the
/// phase it was sent in, so the checks can tell steady traffic from traffic sent into a fault.
class steady_load
{
public:
    explicit steady_load(libnats_peer& caller) : caller_(caller), thread_([this] { run(); }) {}
    ~steady_load() { stop(); }

    void set_phase(const std::string& phase)
    {
        std::lock_guard lock(mutex_);
        phase_ = phase;
    }
    void stop()
    {
        running_ = false;
        if (thread_.joinable()) thread_.join();
    }
    /// Request ids sent, by phase.
    std::map<std::string, std::vector<std::string>> sent() const
    {
        std::lock_guard lock(mutex_);
        return sent_;
    }

private:
    void run()
    {
        for (std::uint64_t n = 0; running_; ++n)
        {
            std::string id;
            {
                std::lock_guard lock(mutex_);
                id = phase_ + "-" + std::to_string(n);
                sent_[phase_].push_back(id);
            }
            // A publish that fails (libnats' reconnect buffer full, say) never reached anyone and is
            // not counted against the router.
            if (caller_.publish(decide_subject, decide_request("acme", id), {}, reply_prefix + id) != NATS_OK)
            {
                std::lock_guard lock(mutex_);
                sent_[phase_].pop_back();
            }
            std::this_thread::sleep_for(5ms);
        }
    }

    libnats_peer& caller_;
    mutable std::mutex mutex_;
    std::string phase_ = "steady0";
    std::map<std::string, std::vector<std::string>> sent_;
    std::atomic<bool> running_{true};
    std::thread thread_;
};

struct chaos_fixture : router_setup
{
    chaos_fixture()
        : router_setup(nats_server_options{.tls = tls_mode::mutual},
                       [](const policy_dir& dir) { dir.write("acme", "default", openai_only); },
                       {{"BEAMLINE_NATS_RECONNECT_WAIT_MS", "100"},
                        {"BEAMLINE_NATS_MAX_RECONNECT", "-1"},
                        {"BEAMLINE_NATS_PING_INTERVAL_MS", "500"},
                        {"BEAMLINE_NATS_MAX_PINGS_OUT", "2"}}),
          replies(*caller, reply_prefix + ">")
    {
        BOOST_TEST_REQUIRE(replies.status() == NATS_OK);
    }

    /// Waits until a request sent now gets its reply through the router into the reply
    /// subscription: both ends are subscribed on the (new) server. The time it took, or nullopt.
    std::optional<std::chrono::milliseconds> wait_answering(std::chrono::seconds limit)
    {
        const auto begin = steady::now();
        for (int n = 0; steady::now() - begin < limit; ++n)
        {
            const auto id = "probe-" + std::to_string(probes++);
            if (caller->publish(decide_subject, decide_request("acme", id), {}, reply_prefix + id) == NATS_OK)
            {
                const auto deadline = steady::now() + 500ms;
                while (steady::now() < deadline)
                {
                    for (const auto& m : replies.messages())
                        if (m.subject == reply_prefix + id)
                            return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - begin);
                    std::this_thread::sleep_for(20ms);
                }
            }
            else
                std::this_thread::sleep_for(100ms);
        }
        return std::nullopt;
    }

    /// Waits until every request of `phase` has its reply: what was sent before a fault has reached
    /// the router and come back before the fault hits, so a reply lost with a killed server is only
    /// ever one of the fault's own requests.
    bool wait_phase_answered(const steady_load& load, const std::string& phase, std::chrono::seconds limit)
    {
        if (caller->flush() != NATS_OK) return false;
        const auto sent = load.sent();
        const auto it = sent.find(phase);
        if (it == sent.end()) return true;
        return eventually(
            [&]
            {
                std::set<std::string> answered;
                for (const auto& m : replies.messages())
                    answered.insert(m.subject);
                for (const auto& id : it->second)
                    if (!answered.count(reply_prefix + id)) return false;
                return true;
            },
            limit);
    }

    /// Polls /healthz until 200: the time it took, or nullopt at the limit.
    std::optional<std::chrono::milliseconds> time_to_healthy(std::chrono::seconds limit)
    {
        const auto begin = steady::now();
        if (!router->wait_health(200, limit)) return std::nullopt;
        return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - begin);
    }

    message_collector replies;
    int probes = 0;
};

} // namespace

BOOST_AUTO_TEST_SUITE(router_chaos)

BOOST_AUTO_TEST_CASE(kill_and_freeze_of_nats_under_load_lose_no_steady_request_and_answer_none_twice)
{
    chaos_fixture f;
    BOOST_TEST_REQUIRE(f.wait_answering(10s).has_value());
    steady_load load(*f.caller);
    std::this_thread::sleep_for(1s); // steady traffic before the first fault

    load.set_phase("killed");
    BOOST_TEST_REQUIRE(f.wait_phase_answered(load, "steady0", 15s));
    f.server.kill();
    BOOST_TEST_REQUIRE(f.router->wait_health(503, 15s));
    f.server.start();
    const auto healthy_after_restart = f.time_to_healthy(30s);
    BOOST_TEST_REQUIRE(healthy_after_restart.has_value(), "the router was not healthy 30 s after the restart");
    BOOST_TEST_REQUIRE(f.caller->wait_connected(15s));
    const auto answering_after_restart = f.wait_answering(30s);
    BOOST_TEST_REQUIRE(answering_after_restart.has_value());
    load.set_phase("steady1");
    std::this_thread::sleep_for(1s);

    load.set_phase("frozen");
    BOOST_TEST_REQUIRE(f.wait_phase_answered(load, "steady1", 15s));
    f.server.freeze();
    std::this_thread::sleep_for(3s); // longer than the router's ping interval x max pings out
    f.server.thaw();
    const auto healthy_after_thaw = f.time_to_healthy(30s);
    BOOST_TEST_REQUIRE(healthy_after_thaw.has_value(), "the router was not healthy 30 s after the thaw");
    const auto answering_after_thaw = f.wait_answering(30s);
    BOOST_TEST_REQUIRE(answering_after_thaw.has_value());
    load.set_phase("steady2");
    std::this_thread::sleep_for(1s);
    load.stop();

    BOOST_TEST_MESSAGE("healthy after the restart in " << healthy_after_restart->count() << " ms, answering in "
                       << answering_after_restart->count() << " ms; healthy after the thaw in "
                       << healthy_after_thaw->count() << " ms, answering in " << answering_after_thaw->count()
                       << " ms");

    // Every steady request is answered; wait for the last ones (bounded) before counting.
    const auto sent = load.sent();
    std::size_t steady_sent = 0;
    for (const auto& phase : {"steady0", "steady1", "steady2"})
        steady_sent += sent.at(phase).size();
    const auto all_replies = [&] { return f.replies.messages(); };
    eventually(
        [&]
        {
            std::set<std::string> answered;
            for (const auto& m : all_replies())
                answered.insert(m.subject);
            for (const auto& phase : {"steady0", "steady1", "steady2"})
                for (const auto& id : sent.at(phase))
                    if (!answered.count(reply_prefix + id)) return false;
            return true;
        },
        15s);
    std::this_thread::sleep_for(500ms); // a duplicate would come right behind its first copy

    std::map<std::string, int> replies_per_subject;
    for (const auto& m : all_replies())
        ++replies_per_subject[m.subject];
    for (const auto& [subject, count] : replies_per_subject)
        BOOST_TEST(count == 1, subject << " was answered " << count << " times");
    std::size_t steady_unanswered = 0;
    for (const auto& phase : {"steady0", "steady1", "steady2"})
        for (const auto& id : sent.at(phase))
            if (!replies_per_subject.count(reply_prefix + id))
            {
                ++steady_unanswered;
                BOOST_TEST_MESSAGE("unanswered: " << id);
            }
    BOOST_TEST(steady_unanswered == 0u, steady_unanswered << " of " << steady_sent << " steady requests unanswered");
    for (const auto& phase : {"killed", "frozen"})
    {
        std::size_t answered = 0;
        const auto it = sent.find(phase);
        const std::size_t count = it == sent.end() ? 0 : it->second.size();
        if (it != sent.end())
            for (const auto& id : it->second)
                answered += replies_per_subject.count(reply_prefix + id);
        BOOST_TEST_MESSAGE(phase << ": " << answered << " of " << count << " requests sent during the fault answered");
    }
    BOOST_TEST(steady_sent > 0u);
}

BOOST_AUTO_TEST_SUITE_END()

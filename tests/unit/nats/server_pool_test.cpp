#include <algorithm>
#include <beamline/nats/error.hpp>
#include <beamline/nats/sansio/server_pool.hpp>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using namespace beamline::nats;
using namespace beamline::nats::sansio;
using namespace std::chrono_literals;

namespace
{

std::vector<server_url> urls(std::initializer_list<const char*> texts)
{
    std::vector<server_url> out;
    for (const char* t : texts)
    {
        server_url u;
        BOOST_TEST_REQUIRE(!parse_server_url(t, u), t);
        out.push_back(u);
    }
    return out;
}

std::vector<std::string> hosts_of(const server_pool& pool)
{
    std::vector<std::string> out;
    for (const auto& e : pool.entries())
        out.push_back(e.url.host);
    return out;
}

/// The hosts `next()` returns over `n` calls.
std::vector<std::string> next_hosts(server_pool& pool, std::size_t n)
{
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i)
    {
        auto e = pool.next();
        out.push_back(e ? e->url.host : "<none>");
    }
    return out;
}

const std::vector<std::string> ten_hosts = {"h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9"};

std::vector<server_url> ten_urls()
{
    return urls({"h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9"});
}

} // namespace

BOOST_AUTO_TEST_SUITE(nats_server_pool)

BOOST_AUTO_TEST_CASE(randomized_order_is_a_seeded_permutation)
{
    server_pool a(ten_urls(), true, 60, 42);
    server_pool b(ten_urls(), true, 60, 42);
    auto order = hosts_of(a);
    BOOST_TEST(order == hosts_of(b), boost::test_tools::per_element()); // same seed, same order
    auto sorted = order;
    std::sort(sorted.begin(), sorted.end());
    BOOST_TEST(sorted == ten_hosts, boost::test_tools::per_element());

    bool any_shuffled = false;
    for (std::uint64_t seed = 1; seed <= 5; ++seed)
        any_shuffled = any_shuffled || hosts_of(server_pool(ten_urls(), true, 60, seed)) != ten_hosts;
    BOOST_TEST(any_shuffled);
}

BOOST_AUTO_TEST_CASE(no_randomize_keeps_order_and_rotates)
{
    server_pool pool(urls({"a", "b", "c"}), false, 60, 42);
    BOOST_TEST(hosts_of(pool) == (std::vector<std::string>{"a", "b", "c"}), boost::test_tools::per_element());
    BOOST_TEST(next_hosts(pool, 7) == (std::vector<std::string>{"a", "b", "c", "a", "b", "c", "a"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(server_removed_after_max_attempts)
{
    auto list = urls({"a", "b"});
    server_pool pool(list, false, 2, 1);
    pool.failed(list[0]);
    BOOST_TEST(pool.size() == 2u);
    pool.failed(list[0]);
    BOOST_TEST(pool.size() == 1u);
    BOOST_TEST(next_hosts(pool, 3) == (std::vector<std::string>{"b", "b", "b"}),
               boost::test_tools::per_element());
    pool.failed(list[1]);
    pool.failed(list[1]);
    BOOST_TEST(pool.empty());
    BOOST_TEST(!pool.next());
}

BOOST_AUTO_TEST_CASE(success_resets_the_attempt_count)
{
    auto list = urls({"a"});
    server_pool pool(list, false, 2, 1);
    pool.failed(list[0]);
    pool.connected(list[0]);
    BOOST_TEST(pool.entries()[0].failed_attempts == 0);
    BOOST_TEST(pool.entries()[0].did_connect);
    pool.failed(list[0]);
    BOOST_TEST(pool.size() == 1u);
}

BOOST_AUTO_TEST_CASE(negative_max_attempts_never_removes)
{
    auto list = urls({"a"});
    server_pool pool(list, false, -1, 1);
    for (int i = 0; i < 1000; ++i)
        pool.failed(list[0]);
    BOOST_TEST(pool.size() == 1u);
}

BOOST_AUTO_TEST_CASE(same_auth_error_twice_removes_the_server)
{
    auto list = urls({"a", "b", "c"});
    server_pool pool(list, false, 60, 1);
    const int auth = static_cast<int>(server_errc::authorization_violation);
    const int expired = static_cast<int>(server_errc::authentication_expired);

    pool.failed(list[0], auth);
    pool.failed(list[0], auth);
    BOOST_TEST(hosts_of(pool) == (std::vector<std::string>{"b", "c"}), boost::test_tools::per_element());

    // Different auth errors, or an unrelated failure in between, are not "twice in a row".
    pool.failed(list[1], auth);
    pool.failed(list[1], expired);
    pool.failed(list[1]);
    pool.failed(list[1], expired);
    BOOST_TEST(pool.size() == 2u);

    // A successful connection forgets the last auth error.
    pool.failed(list[2], auth);
    pool.connected(list[2]);
    pool.failed(list[2], auth);
    BOOST_TEST(pool.size() == 2u);
}

BOOST_AUTO_TEST_CASE(discovered_servers_are_added_once_and_keep_the_tls_name)
{
    auto list = urls({"tls://demo.example:4222"});
    server_pool pool(list, false, 60, 1);
    BOOST_TEST(pool.entries()[0].tls_name == "demo.example");
    BOOST_TEST(!pool.entries()[0].discovered);

    auto added = pool.add_discovered({"10.0.0.1:4222", "10.0.0.2:4222", "demo.example:4222", "not a url:x"},
                                     true, "demo.example");
    BOOST_TEST(added == 2u);
    BOOST_TEST(pool.size() == 3u);
    BOOST_TEST(pool.add_discovered({"10.0.0.1:4222", "10.0.0.2"}, true, "demo.example") == 0u);
    BOOST_TEST(pool.size() == 3u);
    for (const auto& e : pool.entries())
    {
        BOOST_TEST_CONTEXT(e.url.host)
        {
            BOOST_TEST(e.tls_name == "demo.example");
            BOOST_TEST(e.url.tls);
            BOOST_TEST(e.discovered == (e.url.host != "demo.example"));
        }
    }
    // Discovered servers are tried before the one that was just in use.
    auto next = pool.next();
    BOOST_TEST_REQUIRE(next.has_value());
    BOOST_TEST(next->discovered);

    server_pool plain(urls({"a"}), false, 60, 1);
    plain.add_discovered({"10.0.0.9:4222"}, false, "");
    BOOST_TEST(plain.entries()[0].tls_name == "10.0.0.9");
    BOOST_TEST(!plain.entries()[0].url.tls);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(nats_backoff)

BOOST_AUTO_TEST_CASE(delay_is_wait_plus_bounded_jitter)
{
    reconnect_backoff backoff(2000ms, 100ms, 7);
    milliseconds lowest = 1h, highest = 0ms;
    for (int i = 0; i < 2000; ++i)
    {
        auto d = backoff.next_delay();
        lowest = std::min(lowest, d);
        highest = std::max(highest, d);
    }
    BOOST_TEST(lowest.count() >= 2000);
    BOOST_TEST(highest.count() < 2100);
    // The jitter actually spreads the delays over its range.
    BOOST_TEST(lowest.count() < 2010);
    BOOST_TEST(highest.count() >= 2090);
}

BOOST_AUTO_TEST_CASE(same_seed_same_delays)
{
    reconnect_backoff a(2000ms, 1000ms, 99), b(2000ms, 1000ms, 99), c(2000ms, 1000ms, 100);
    std::vector<long long> da, db, dc;
    for (int i = 0; i < 20; ++i)
    {
        da.push_back(a.next_delay().count());
        db.push_back(b.next_delay().count());
        dc.push_back(c.next_delay().count());
    }
    BOOST_TEST(da == db, boost::test_tools::per_element());
    BOOST_TEST((da != dc));
}

BOOST_AUTO_TEST_CASE(no_jitter_is_exactly_the_wait)
{
    reconnect_backoff backoff(250ms, 0ms, 1);
    for (int i = 0; i < 5; ++i)
        BOOST_TEST(backoff.next_delay().count() == 250);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(nats_keepalive)

BOOST_AUTO_TEST_CASE(stale_after_max_pings_out_plus_one_intervals)
{
    keepalive k(2);
    BOOST_TEST((k.on_interval() == keepalive::action::send_ping));
    BOOST_TEST((k.on_interval() == keepalive::action::send_ping));
    BOOST_TEST(k.outstanding() == 2);
    BOOST_TEST((k.on_interval() == keepalive::action::stale));
}

BOOST_AUTO_TEST_CASE(pong_resets_the_count)
{
    keepalive k(2);
    for (int round = 0; round < 10; ++round)
    {
        BOOST_TEST((k.on_interval() == keepalive::action::send_ping));
        BOOST_TEST((k.on_interval() == keepalive::action::send_ping));
        k.on_pong();
        BOOST_TEST(k.outstanding() == 0);
    }
    k.on_interval();
    k.reset();
    BOOST_TEST(k.outstanding() == 0);
}

BOOST_AUTO_TEST_CASE(zero_max_pings_out_is_stale_at_the_first_unanswered_interval)
{
    keepalive k(0);
    BOOST_TEST((k.on_interval() == keepalive::action::stale));
}

BOOST_AUTO_TEST_SUITE_END()

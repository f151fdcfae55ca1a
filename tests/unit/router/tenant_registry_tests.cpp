// The tenant registry: bounded, least recently used idle tenants evicted (and counted), busy ones
// kept, the per-tenant in-flight cap, and each tenant's state distinct.
#include "beamline/router/tenant_registry.hpp"

#include <boost/test/unit_test.hpp>


using namespace beamline::router;
using admission = tenant_registry::admission;

namespace
{

struct registry_fixture
{
    boost::asio::io_context io;
    std::chrono::steady_clock::time_point now{};
    int observers_alive = 0;
    int requests_counted = 0;

    struct counting_observer : tenant_observer
    {
        registry_fixture& f;
        explicit counting_observer(registry_fixture& fx) : f(fx) { ++f.observers_alive; }
        ~counting_observer() override { --f.observers_alive; }
        void on_request() noexcept override { ++f.requests_counted; }
    };

    tenant_registry make(std::size_t max_tenants, std::uint32_t inflight_max = 10)
    {
        tenant_registry_limits l;
        l.max_tenants = max_tenants;
        l.inflight_max = inflight_max;
        return tenant_registry(io.get_executor(), l, 1,
                               [this](std::string_view) { return std::make_unique<counting_observer>(*this); });
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(tenant_registry_suite)

BOOST_FIXTURE_TEST_CASE(a_tenant_without_state_is_created_only_when_asked, registry_fixture)
{
    auto reg = make(10);
    BOOST_TEST(static_cast<int>(reg.acquire("acme", false, now).verdict) == static_cast<int>(admission::unknown));
    BOOST_TEST(reg.size() == 0u);
    auto got = reg.acquire("acme", true, now);
    BOOST_TEST_REQUIRE(static_cast<int>(got.verdict) == static_cast<int>(admission::admitted));
    BOOST_TEST(got.lease->id() == "acme");
    BOOST_TEST(got.lease->inflight() == 1u);
    BOOST_TEST(reg.size() == 1u);
    got.lease.release();
    auto again = reg.acquire("acme", false, now);
    BOOST_TEST_REQUIRE(static_cast<int>(again.verdict) == static_cast<int>(admission::admitted));
    BOOST_TEST(reg.size() == 1u);
    BOOST_TEST(requests_counted == 2);
}

BOOST_FIXTURE_TEST_CASE(past_the_cap_the_least_recently_used_idle_tenant_is_evicted, registry_fixture)
{
    auto reg = make(3);
    for (const char* id : {"a", "b", "c"})
        BOOST_TEST_REQUIRE(static_cast<int>(reg.acquire(id, true, now).verdict) == static_cast<int>(admission::admitted));
    // "a" is used again, so "b" is now the least recently used.
    BOOST_TEST_REQUIRE(!!reg.acquire("a", false, now).lease);
    BOOST_TEST_REQUIRE(!!reg.acquire("d", true, now).lease);
    BOOST_TEST(reg.size() == 3u);
    BOOST_TEST(reg.evictions() == 1u);
    BOOST_TEST(observers_alive == 3); // b's state, observer included, is gone
    BOOST_TEST(!reg.acquire("b", false, now).lease);
    for (const char* id : {"a", "c", "d"})
        BOOST_TEST(!!reg.acquire(id, false, now).lease, id);
}

BOOST_FIXTURE_TEST_CASE(a_busy_tenant_is_never_evicted_and_a_full_registry_refuses_new_ones, registry_fixture)
{
    auto reg = make(1);
    auto busy = reg.acquire("a", true, now);
    BOOST_TEST_REQUIRE(!!busy.lease);
    auto refused = reg.acquire("b", true, now);
    BOOST_TEST(static_cast<int>(refused.verdict) == static_cast<int>(admission::registry_full));
    BOOST_TEST(reg.size() == 1u);
    BOOST_TEST(reg.evictions() == 0u);
    busy.lease.release();
    BOOST_TEST(!!reg.acquire("b", true, now).lease);
    BOOST_TEST(reg.evictions() == 1u);
    BOOST_TEST(!reg.acquire("a", false, now).lease);
}

BOOST_FIXTURE_TEST_CASE(the_in_flight_cap_refuses_until_a_slot_is_given_back, registry_fixture)
{
    auto reg = make(10, 2);
    auto first = reg.acquire("a", true, now);
    auto second = reg.acquire("a", false, now);
    BOOST_TEST_REQUIRE(!!second.lease);
    auto third = reg.acquire("a", false, now);
    BOOST_TEST(static_cast<int>(third.verdict) == static_cast<int>(admission::inflight_cap));
    BOOST_TEST(!third.lease);
    BOOST_TEST(first.lease->inflight() == 2u);
    second.lease.release();
    BOOST_TEST(!!reg.acquire("a", false, now).lease);
}

BOOST_FIXTURE_TEST_CASE(many_tenants_stay_within_the_cap_across_shards, registry_fixture)
{
    auto reg = make(2048);
    BOOST_TEST(reg.shard_capacity() >= 256u);
    BOOST_TEST(reg.shard_capacity() <= 2048u);
    constexpr int tenants = 20'000;
    for (int i = 0; i < tenants; ++i)
        BOOST_TEST_REQUIRE(!!reg.acquire("t-" + std::to_string(i), true, now).lease);
    BOOST_TEST(reg.size() <= 2048u);
    BOOST_TEST(reg.size() >= 1024u); // the shards fill up, not just one of them
    BOOST_TEST(reg.evictions() == tenants - reg.size());
    BOOST_TEST(observers_alive == static_cast<int>(reg.size()));
}

BOOST_FIXTURE_TEST_CASE(each_tenant_gets_its_own_strand_and_random_stream, registry_fixture)
{
    auto reg = make(10);
    auto a = reg.acquire("a", true, now);
    auto b = reg.acquire("b", true, now);
    BOOST_TEST((a.lease->strand() != b.lease->strand()));
    BOOST_TEST(a.lease->state().rng()() != b.lease->state().rng()());
}

BOOST_AUTO_TEST_SUITE_END()

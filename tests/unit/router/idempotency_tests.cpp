#include "beamline/router/decide_reply.hpp"
#include "beamline/router/idempotency_store.hpp"
#include "decide_fixtures.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>

using namespace beamline::router;
using namespace beamline::router::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace
{

using verdict = idempotency_store::verdict;

/// A fake clock: tests move time by hand.
struct fake_clock
{
    idempotency_store::time_point now{};
    void advance(std::chrono::seconds s) { now += s; }
};

request_fingerprint fingerprint(std::string_view request_json, request_meta meta = {decide_subject})
{
    auto r = parse_decide_request(request_json, meta, {});
    BOOST_TEST_REQUIRE(r.ok(), request_json);
    return fingerprint_of(r.request());
}

constexpr std::string_view base =
    R"({"version":"1","request_id":"r-1","tenant_id":"acme","idempotency_key":"k-1",)"
    R"("task":{"type":"t","payload":{"a":1,"b":[1,2]}},"metadata":{"user_id":"u-1"},"constraints":{"max_cost":2}})";

/// Stores an entry and checks it replays until `ttl` has passed, and not after.
void check_lives_exactly(idempotency_store& store, std::chrono::seconds ttl, const request_fingerprint& f)
{
    fake_clock clock;
    store.remember("k-1", f, "reply-1", clock.now);
    clock.advance(ttl - 1s);
    BOOST_TEST((store.lookup("k-1", f, clock.now).kind == verdict::replay));
    clock.advance(1s);
    BOOST_TEST((store.lookup("k-1", f, clock.now).kind == verdict::miss));
    BOOST_TEST(store.size() == 0u); // an expired entry is dropped when seen
}

} // namespace

BOOST_AUTO_TEST_SUITE(idempotency)

BOOST_AUTO_TEST_CASE(fingerprint_ignores_volatile_fields_and_member_order)
{
    request_fingerprint f = fingerprint(base);
    // a retry with a new request_id and trace_id is the same request
    BOOST_TEST(
        (f == fingerprint(R"({"version":"1","request_id":"r-2","tenant_id":"acme","idempotency_key":"k-1",)"
                          R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736",)"
                          R"("task":{"type":"t","payload":{"a":1,"b":[1,2]}},"metadata":{"user_id":"u-1"},)"
                          R"("constraints":{"max_cost":2}})")));
    // member order and 2 vs 2.0 do not make a different request
    BOOST_TEST((f == fingerprint(R"({"constraints":{"max_cost":2.0},"metadata":{"user_id":"u-1"},)"
                                 R"("task":{"payload":{"b":[1,2],"a":1},"type":"t"},)"
                                 R"("idempotency_key":"k-1","tenant_id":"acme","request_id":"r-1"})")));
}

BOOST_AUTO_TEST_CASE(fingerprint_sees_what_changes_the_decision)
{
    request_fingerprint f = fingerprint(base);
    auto changed = [&](std::string_view from, std::string_view to)
    {
        std::string text(base);
        text.replace(text.find(from), from.size(), to);
        return fingerprint(text);
    };
    BOOST_TEST((f != changed(R"("a":1)", R"("a":2)")));               // task payload
    BOOST_TEST((f != changed(R"("b":[1,2])", R"("b":[2,1])")));       // array order matters
    BOOST_TEST((f != changed(R"("type":"t")", R"("type":"u")")));     // task type
    BOOST_TEST((f != changed(R"("u-1")", R"("u-2")")));               // metadata (sticky key)
    BOOST_TEST((f != changed(R"("max_cost":2)", R"("max_cost":3)"))); // constraints
    BOOST_TEST((f != changed(R"("tenant_id":"acme")", R"("tenant_id":"acme2")")));
    BOOST_TEST((f != changed(R"("idempotency_key":"k-1")", R"("idempotency_key":"k-1","policy_id":"p")")));
    BOOST_TEST(
        (f != changed(R"("idempotency_key":"k-1")", R"("idempotency_key":"k-1","push_assignment":true)")));
    BOOST_TEST((f != changed(R"("idempotency_key":"k-1")", R"("idempotency_key":"k-1","options":{"x":1})")));
    BOOST_TEST((f.high != f.low)); // the two halves are independent hashes
}

BOOST_AUTO_TEST_CASE(store_then_replay_then_conflict)
{
    fake_clock clock;
    idempotency_store store;
    request_fingerprint f = fingerprint(base);
    BOOST_TEST((store.lookup("k-1", f, clock.now).kind == verdict::miss));

    decision chosen;
    chosen.provider_id = "openai";
    std::string reply;
    append_decide_success(reply, chosen, {"r-1", "acme", {}});
    store.remember("k-1", f, reply, clock.now);
    BOOST_TEST(store.size() == 1u);

    clock.advance(10s);
    auto again = store.lookup("k-1", f, clock.now);
    BOOST_TEST((again.kind == verdict::replay));
    BOOST_TEST(again.reply == reply); // byte for byte

    std::string other_text(base);
    other_text.replace(other_text.find(R"("a":1)"), 5, R"("a":9)");
    auto conflict = store.lookup("k-1", fingerprint(other_text), clock.now);
    BOOST_TEST((conflict.kind == verdict::conflict));
    BOOST_TEST(conflict.reply.empty());

    BOOST_TEST((store.lookup("k-2", f, clock.now).kind == verdict::miss)); // another key
}

BOOST_AUTO_TEST_CASE(conflict_is_refused_as_idempotency_violation)
{
    auto r = parse_decide_request(base, {decide_subject}, {});
    BOOST_TEST_REQUIRE(r.ok());
    intake_error e = idempotency_conflict(r.request());
    BOOST_TEST(to_string(e.code) == "IDEMPOTENCY_VIOLATION");
    BOOST_TEST(to_string(e.reply_code()) == "invalid_request");
    BOOST_TEST(e.request_id == "r-1");
    std::string out;
    append_intake_error(out, e);
    json::value reply = json::parse(out);
    BOOST_TEST(reply.at("error").at("intake_error_code") == "IDEMPOTENCY_VIOLATION");
    BOOST_TEST(reply.at("error").at("message").as_string().find("idempotency_key") != json::string::npos);
}

BOOST_AUTO_TEST_CASE(entries_expire_after_the_ttl)
{
    idempotency_store store(idempotency_store::limits{100s, 10, {}});
    check_lives_exactly(store, 100s, fingerprint(base));

    // after expiry a different request may use the key again
    std::string other_text(base);
    other_text.replace(other_text.find(R"("a":1)"), 5, R"("a":9)");
    request_fingerprint other = fingerprint(other_text);
    fake_clock clock;
    clock.advance(200s);
    store.remember("k-1", other, "reply-2", clock.now);
    auto replay = store.lookup("k-1", other, clock.now);
    BOOST_TEST((replay.kind == verdict::replay));
    BOOST_TEST(replay.reply == "reply-2");
}

BOOST_AUTO_TEST_CASE(default_ttl_is_an_hour)
{
    idempotency_store store;
    check_lives_exactly(store, 3600s, fingerprint(base));
}

BOOST_AUTO_TEST_CASE(store_is_bounded_evicting_expired_then_oldest)
{
    fake_clock clock;
    idempotency_store store(idempotency_store::limits{100s, 3, {}});
    request_fingerprint f = fingerprint(base);
    store.remember("a", f, "A", clock.now);
    clock.advance(60s);
    store.remember("b", f, "B", clock.now);
    store.remember("c", f, "C", clock.now);
    BOOST_TEST(store.size() == 3u);

    // "a" has expired: it makes room, nothing live is evicted
    clock.advance(50s);
    store.remember("d", f, "D", clock.now);
    BOOST_TEST(store.size() == 3u);
    BOOST_TEST(store.evictions() == 0u);
    BOOST_TEST((store.lookup("b", f, clock.now).kind == verdict::replay));

    // full of live entries: the oldest ("b") goes
    store.remember("e", f, "E", clock.now);
    BOOST_TEST(store.size() == 3u);
    BOOST_TEST(store.evictions() == 1u);
    BOOST_TEST((store.lookup("b", f, clock.now).kind == verdict::miss));
    for (std::string_view kept : {"c", "d", "e"})
        BOOST_TEST((store.lookup(kept, f, clock.now).kind == verdict::replay), kept);
}

BOOST_AUTO_TEST_CASE(remembering_a_key_again_replaces_it)
{
    fake_clock clock;
    idempotency_store store(idempotency_store::limits{100s, 2, {}});
    request_fingerprint f = fingerprint(base);
    store.remember("a", f, "first", clock.now);
    store.remember("a", f, "second", clock.now);
    BOOST_TEST(store.size() == 1u);
    BOOST_TEST(store.lookup("a", f, clock.now).reply == "second");
}

BOOST_AUTO_TEST_CASE(stores_sharing_a_total_keep_it_equal_to_the_entries_they_hold)
{
    fake_clock clock;
    auto total = std::make_shared<std::atomic<std::int64_t>>(0);
    request_fingerprint f = fingerprint(base);
    {
        idempotency_store a(idempotency_store::limits{100s, 2, total});
        idempotency_store b(idempotency_store::limits{100s, 2, total});
        a.remember("x", f, "X", clock.now);
        a.remember("x", f, "X again", clock.now); // replaced, not added
        b.remember("y", f, "Y", clock.now);
        BOOST_TEST(total->load() == 2);
        a.remember("z", f, "Z", clock.now);
        a.remember("w", f, "W", clock.now); // full: the oldest goes
        BOOST_TEST(total->load() == 3);
        a.forget("w");
        BOOST_TEST(total->load() == 2);
        clock.advance(101s);
        BOOST_TEST((b.lookup("y", f, clock.now).kind == verdict::miss)); // expired and dropped
        BOOST_TEST(total->load() == 1);
    } // a store that goes (an evicted tenant) takes its entries out of the total
    BOOST_TEST(total->load() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

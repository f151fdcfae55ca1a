#include "request_slots.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <functional>
#include <thread>

using beamline::perf::RequestSlots;
using beamline::perf::SlotState;

BOOST_AUTO_TEST_SUITE(request_slots)

BOOST_AUTO_TEST_CASE(claim_marks_busy_with_send_time_and_new_generation)
{
    RequestSlots slots(4);
    SlotState previous;
    const SlotState state = slots.claim(2, 123'456'789, previous);
    BOOST_TEST(!previous.busy());
    BOOST_TEST(state.busy());
    BOOST_TEST(state.sent_at() == 123'456'789u);
    BOOST_TEST(state.generation() == previous.generation() + 1);
    BOOST_TEST(slots.busy_count() == 1u);
}

BOOST_AUTO_TEST_CASE(only_the_first_of_reply_and_timeout_completes_a_request)
{
    RequestSlots slots(1);
    SlotState previous;
    const SlotState sent = slots.claim(0, 1000, previous);
    SlotState after_timeout;
    BOOST_TEST(slots.complete(0, sent, false, 0, after_timeout)); // the timeout scanner wins
    SlotState after_reply;
    BOOST_TEST(!slots.complete(0, sent, false, 0, after_reply)); // the late reply loses
    BOOST_TEST(!slots.load(0).busy());
    BOOST_TEST(slots.busy_count() == 0u);
}

BOOST_AUTO_TEST_CASE(a_reply_for_an_earlier_generation_is_recognised)
{
    RequestSlots slots(1);
    SlotState previous;
    const SlotState first = slots.claim(0, 10, previous);
    SlotState second;
    BOOST_TEST(slots.complete(0, first, true, 20, second)); // answered and refilled
    BOOST_TEST(second.busy());
    BOOST_TEST(second.sent_at() == 20u);
    BOOST_TEST(slots.load(0).generation() != first.generation());
}

BOOST_AUTO_TEST_CASE(reclaiming_a_busy_slot_reports_the_unanswered_request)
{
    RequestSlots slots(1);
    SlotState previous;
    const SlotState first = slots.claim(0, 10, previous);
    slots.claim(0, 5000, previous);
    BOOST_TEST(previous.busy());
    BOOST_TEST(previous.raw() == first.raw());
}

BOOST_AUTO_TEST_CASE(generation_wraps_without_touching_the_busy_bit_or_time)
{
    const auto last = static_cast<std::uint32_t>(SlotState::kGenerationMask);
    const SlotState state = SlotState::make(last, true, 77);
    const SlotState next = state.next(true, 99);
    BOOST_TEST(next.generation() == 0u);
    BOOST_TEST(next.busy());
    BOOST_TEST(next.sent_at() == 99u);
}

BOOST_AUTO_TEST_CASE(racing_threads_never_both_complete_the_same_request)
{
    // Two threads (think: reply thread and timeout scanner) keep completing whatever request the
    // slot holds and re-arming it. Each win advances the generation by exactly one, so if two
    // threads ever won the same request the wins would outnumber the generations.
    RequestSlots slots(1);
    SlotState previous;
    const SlotState start = slots.claim(0, 1, previous);
    auto contend = [&slots](std::uint64_t& wins)
    {
        for (int i = 0; i < 200'000; ++i)
        {
            SlotState next;
            if (slots.complete(0, slots.load(0), true, static_cast<std::uint64_t>(i), next)) ++wins;
        }
    };
    std::uint64_t wins_a = 0;
    std::uint64_t wins_b = 0;
    std::thread a(contend, std::ref(wins_a));
    std::thread b(contend, std::ref(wins_b));
    a.join();
    b.join();
    const std::uint64_t advanced =
        (slots.load(0).generation() - start.generation()) & SlotState::kGenerationMask;
    BOOST_TEST(wins_a + wins_b > 0u);
    BOOST_TEST(advanced == ((wins_a + wins_b) & SlotState::kGenerationMask));
    BOOST_TEST(slots.load(0).busy());
}

BOOST_AUTO_TEST_CASE(answered_requests_keep_the_reply_subject_abandoned_ones_change_it)
{
    // A healthy closed loop reuses each slot's reply subject; only an abandoned request moves
    // the slot to a new epoch, so its late reply cannot be taken for the next request's.
    RequestSlots slots(1);
    SlotState previous;
    const SlotState first = slots.claim(0, 10, previous);
    const std::uint32_t epoch = slots.reply_epoch(0);
    SlotState second;
    BOOST_TEST(slots.complete(0, first, true, 20, second)); // answered and refilled
    BOOST_TEST(slots.reply_epoch(0) == epoch);
    SlotState matched;
    BOOST_TEST(slots.request_answered_by(0, epoch, matched));
    BOOST_TEST(matched.raw() == second.raw());

    BOOST_TEST(slots.abandon(0, second)); // timed out
    BOOST_TEST(!slots.load(0).busy());
    BOOST_TEST(slots.reply_epoch(0) != epoch);
    const SlotState third = slots.claim(0, 30, previous);
    BOOST_TEST(!previous.busy());
    BOOST_TEST(!slots.request_answered_by(0, epoch, matched)); // the late reply to `second`
    BOOST_TEST(slots.request_answered_by(0, slots.reply_epoch(0), matched));
    BOOST_TEST(matched.raw() == third.raw());
}

BOOST_AUTO_TEST_CASE(only_one_of_abandon_and_reply_ends_a_request)
{
    RequestSlots slots(1);
    SlotState previous;
    const SlotState sent = slots.claim(0, 10, previous);
    const std::uint32_t epoch = slots.reply_epoch(0);
    SlotState after_reply;
    BOOST_TEST(slots.complete(0, sent, false, 0, after_reply)); // the reply wins
    BOOST_TEST(!slots.abandon(0, sent));                        // the timeout scanner loses
    BOOST_TEST(slots.reply_epoch(0) == epoch);                  // and leaves the subject alone
    BOOST_TEST(!slots.request_answered_by(0, epoch, previous)); // nothing outstanding
}

BOOST_AUTO_TEST_SUITE_END()

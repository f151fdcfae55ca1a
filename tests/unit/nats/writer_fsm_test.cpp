// The writer's hand-over machine, every transition driven by hand with a fake clock: who writes
// (the writer or a publisher directly), when the writer parks, when it leaves a burst to a
// publisher on its own thread, and how its looks back double up to 25 times direct_write_wait.

#include <beamline/nats/sansio/writer_fsm.hpp>
#include <boost/test/unit_test.hpp>

using namespace beamline::nats::sansio;
using namespace std::chrono_literals;
using publish_action = writer_fsm::publish_action;
using writer_action = writer_fsm::writer_action;

namespace
{
constexpr std::size_t block = 32 * 1024;
const writer_fsm::clock::time_point t0{};

writer_fsm make() { return writer_fsm(writer_settings{block, 200us}); }

auto own = [] { return true; };
auto io_thread = [] { return false; };

/// A writer that just finished a write with a burst from a thread of its own behind it, the
/// burst coming in `since_take` after the writer took.
writer_fsm writing_with_burst_behind()
{
    auto w = make();
    w.start();
    BOOST_TEST_REQUIRE((w.next(100, false, true, false, t0) == writer_action::write));
    BOOST_TEST_REQUIRE((w.on_publish(block / 4, true, own) == publish_action::none));
    BOOST_TEST_REQUIRE((w.state() == writer_state::writing_burst_behind));
    return w;
}
} // namespace

BOOST_AUTO_TEST_SUITE(writer_fsm_transitions)

BOOST_AUTO_TEST_CASE(stopped_publishes_only_buffer_until_start)
{
    auto w = make();
    BOOST_TEST((w.state() == writer_state::stopped));
    BOOST_TEST((w.on_publish(block * 4, true, own) == publish_action::none));
    BOOST_TEST(!w.on_needs_writer());
    w.start();
    BOOST_TEST((w.state() == writer_state::woken));
    // Woken: it takes by itself; publishes and control frames do not wake it again.
    BOOST_TEST((w.on_publish(block * 4, true, own) == publish_action::none));
    BOOST_TEST(!w.on_needs_writer());
}

BOOST_AUTO_TEST_CASE(nothing_to_write_parks_and_a_small_publish_wakes)
{
    auto w = make();
    w.start();
    BOOST_TEST((w.next(0, false, true, false, t0) == writer_action::park));
    BOOST_TEST((w.state() == writer_state::parked));
    BOOST_TEST((w.on_publish(100, true, own) == publish_action::wake_writer));
    BOOST_TEST((w.state() == writer_state::woken));
    // Only the first publish wakes it.
    BOOST_TEST((w.on_publish(200, true, own) == publish_action::none));
    BOOST_TEST((w.next(200, false, true, false, t0) == writer_action::write));
    BOOST_TEST((w.state() == writer_state::writing));
}

BOOST_AUTO_TEST_CASE(a_parked_writer_leaves_a_full_block_to_the_publisher_unless_direct_writes_are_off)
{
    auto w = make();
    w.start();
    w.next(0, false, true, false, t0);
    BOOST_TEST((w.on_publish(block, true, own) == publish_action::write_directly));
    BOOST_TEST((w.state() == writer_state::parked)); // a finished direct write leaves it parked
    BOOST_TEST((w.on_publish(block, false, own) == publish_action::wake_writer)); // TLS, or off
}

BOOST_AUTO_TEST_CASE(an_unfinished_direct_write_hands_the_rest_to_the_writer)
{
    auto w = make();
    w.start();
    w.next(0, false, true, false, t0);
    BOOST_TEST((w.on_publish(block, true, own) == publish_action::write_directly));
    w.on_direct_write_unfinished();
    BOOST_TEST((w.state() == writer_state::woken));
    BOOST_TEST((w.next(1000, false, true, false, t0) == writer_action::write));
}

BOOST_AUTO_TEST_CASE(control_frames_and_subscriptions_wake_a_parked_or_leaving_writer)
{
    auto w = make();
    w.start();
    w.next(0, false, true, false, t0);
    BOOST_TEST(w.on_needs_writer());
    BOOST_TEST((w.state() == writer_state::woken));
    BOOST_TEST((w.next(0, true, true, false, t0) == writer_action::write)); // the control frame alone
    BOOST_TEST(!w.on_needs_writer()); // writing: it comes round by itself

    auto l = writing_with_burst_behind();
    BOOST_TEST((l.next(block, false, true, false, t0 + 10us) == writer_action::leave_burst));
    BOOST_TEST(l.on_needs_writer());
    BOOST_TEST((l.state() == writer_state::woken));
}

BOOST_AUTO_TEST_CASE(a_burst_is_flagged_only_from_a_thread_of_its_own_while_a_write_is_in_flight)
{
    auto w = make();
    w.start();
    w.next(10, false, true, false, t0);
    BOOST_TEST((w.on_publish(block / 4 - 1, true, own) == publish_action::none));
    BOOST_TEST((w.state() == writer_state::writing)); // too small to be a burst
    w.on_publish(block / 4, true, io_thread);
    BOOST_TEST((w.state() == writer_state::writing)); // the client's own threads never get one left
    w.on_publish(block / 4, false, own);
    BOOST_TEST((w.state() == writer_state::writing)); // no direct writes: nobody to leave it to
    w.on_publish(block / 4, true, own);
    BOOST_TEST((w.state() == writer_state::writing_burst_behind));
    // Without a burst the writer writes what is waiting as soon as its write ends.
    auto plain = make();
    plain.start();
    plain.next(10, false, true, false, t0);
    BOOST_TEST((plain.next(block, false, true, false, t0 + 1us) == writer_action::write));
}

BOOST_AUTO_TEST_CASE(a_burst_that_fills_a_block_in_time_is_left_to_its_publisher)
{
    // Half a block came in within 100us: the other half will come within the 200us wait.
    auto w = writing_with_burst_behind();
    BOOST_TEST((w.next(block / 2, false, true, false, t0 + 100us) == writer_action::leave_burst));
    BOOST_TEST((w.state() == writer_state::leaving_burst));
    // A full block waiting is always left: the next publish writes it.
    auto full = writing_with_burst_behind();
    BOOST_TEST((full.next(block, false, true, false, t0 + 1s) == writer_action::leave_burst));
}

BOOST_AUTO_TEST_CASE(a_slow_burst_is_written_now)
{
    // Half a block in 300us: the rest would take longer than the 200us wait.
    auto w = writing_with_burst_behind();
    BOOST_TEST((w.next(block / 2, false, true, false, t0 + 300us) == writer_action::write));
    BOOST_TEST((w.state() == writer_state::writing));
    // Less than a quarter block is never left.
    auto small = writing_with_burst_behind();
    BOOST_TEST((small.next(block / 4 - 1, false, true, false, t0) == writer_action::write));
}

BOOST_AUTO_TEST_CASE(nothing_is_left_when_something_needs_the_writer_or_publishers_wait)
{
    auto control = writing_with_burst_behind();
    BOOST_TEST((control.next(block, true, true, false, t0) == writer_action::write));
    auto waiting = writing_with_burst_behind();
    BOOST_TEST((waiting.next(block, false, true, true, t0) == writer_action::write));
    auto gone = writing_with_burst_behind(); // the socket went away from direct writes
    BOOST_TEST((gone.next(block, false, false, false, t0) == writer_action::write));
}

BOOST_AUTO_TEST_CASE(while_leaving_publishes_write_blocks_themselves_and_small_ones_wait)
{
    auto w = writing_with_burst_behind();
    w.next(block, false, true, false, t0);
    BOOST_TEST((w.on_publish(block / 2, true, own) == publish_action::none)); // it comes back by itself
    BOOST_TEST((w.on_publish(block, true, own) == publish_action::write_directly));
    BOOST_TEST((w.state() == writer_state::leaving_burst));
}

BOOST_AUTO_TEST_CASE(looks_back_double_up_to_25_times_the_wait_while_the_publisher_keeps_writing)
{
    auto w = writing_with_burst_behind();
    w.next(block, false, true, false, t0);
    BOOST_TEST(w.first_look().count() == 200);
    std::vector<long> looks;
    for (int i = 0; i < 8; ++i)
    {
        BOOST_TEST_REQUIRE(w.look_again(true));
        looks.push_back(static_cast<long>(w.look_after().count()));
    }
    BOOST_TEST(looks == (std::vector<long>{400, 800, 1600, 3200, 5000, 5000, 5000, 5000}), boost::test_tools::per_element());
    // The publisher stopped writing blocks: the writer takes what is left.
    BOOST_TEST(!w.look_again(false));
    BOOST_TEST((w.next(100, false, true, false, t0 + 10ms) == writer_action::write));
}

BOOST_AUTO_TEST_CASE(a_look_after_being_woken_stops_leaving)
{
    auto w = writing_with_burst_behind();
    w.next(block, false, true, false, t0);
    w.on_needs_writer();
    BOOST_TEST(!w.look_again(true));
}

BOOST_AUTO_TEST_CASE(stop_from_every_state_stops_and_a_new_connection_starts_woken)
{
    for (int s = 0; s < 5; ++s)
    {
        auto w = writing_with_burst_behind();
        if (s == 1) w.next(block, false, true, false, t0); // leaving
        if (s == 2) w.next(100, false, true, false, t0);   // writing
        if (s == 3) w.next(0, false, true, false, t0);     // parked
        if (s == 4) w.on_direct_write_unfinished();         // woken
        w.stop();
        BOOST_TEST((w.state() == writer_state::stopped));
        BOOST_TEST((w.on_publish(block, true, own) == publish_action::none));
        w.start();
        BOOST_TEST((w.state() == writer_state::woken));
    }
    BOOST_TEST(to_string(writer_state::leaving_burst) == "leaving_burst");
}

BOOST_AUTO_TEST_SUITE_END()

#include "beamline/nats/sansio/outbound_buffer.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

using beamline::nats::sansio::outbound_buffer;

namespace
{
std::string joined(const std::vector<std::string>& blocks)
{
    std::string out;
    for (const auto& b : blocks)
        out += b;
    return out;
}
} // namespace

BOOST_AUTO_TEST_SUITE(outbound_buffer_suite)

BOOST_AUTO_TEST_CASE(frames_come_out_in_order_and_whole)
{
    outbound_buffer buf(16, 4);
    std::string expected;
    for (int i = 0; i < 10; ++i)
    {
        std::string frame = "PUB s " + std::to_string(i) + "\r\n";
        buf.append_frame(frame.size(), [&](std::string& out) { out += frame; });
        expected += frame;
    }
    BOOST_TEST(buf.size() == expected.size());
    std::vector<std::string> taken;
    buf.take(taken);
    BOOST_TEST(buf.empty());
    BOOST_TEST(joined(taken) == expected);
    // No frame is split across blocks: every block ends at a frame boundary.
    for (const auto& b : taken)
        BOOST_TEST(b.substr(b.size() - 2) == "\r\n");
}

BOOST_AUTO_TEST_CASE(a_frame_larger_than_a_block_gets_its_own)
{
    outbound_buffer buf(8, 4);
    buf.append("ab");
    std::string big(100, 'x');
    buf.append(big);
    buf.append("cd");
    std::vector<std::string> taken;
    buf.take(taken);
    BOOST_TEST(joined(taken) == "ab" + big + "cd");
    BOOST_TEST(taken.size() == 3u);
}

BOOST_AUTO_TEST_CASE(written_blocks_are_reused_without_reallocating)
{
    outbound_buffer buf(64, 2);
    buf.append("first");
    std::vector<std::string> taken;
    buf.take(taken);
    const char* storage = taken.front().data();
    buf.recycle(taken);
    BOOST_TEST(taken.empty());
    buf.append("second");
    buf.take(taken);
    BOOST_TEST(taken.size() == 1u);
    BOOST_TEST(taken.front() == "second");
    BOOST_TEST(static_cast<const void*>(taken.front().data()) == static_cast<const void*>(storage));
}

BOOST_AUTO_TEST_CASE(take_recycles_the_previous_blocks_and_clear_drops_data)
{
    outbound_buffer buf(64, 8);
    buf.append(std::string(60, 'a'));
    buf.append("0123456789");
    std::vector<std::string> taken;
    buf.take(taken);
    BOOST_TEST(taken.size() == 2u); // the second frame did not fit in the first block's rest
    buf.append("next");
    buf.take(taken); // the two written blocks go back to the spares first
    BOOST_TEST(joined(taken) == "next");
    buf.append("dropped");
    BOOST_TEST(buf.size() == 7u);
    buf.clear();
    BOOST_TEST(buf.empty());
    buf.take(taken);
    BOOST_TEST(taken.empty());
}

BOOST_AUTO_TEST_CASE(an_unsent_rest_goes_back_in_front_in_order)
{
    outbound_buffer buf(8, 8);
    for (const char* frame : {"aaaa", "bbbb", "cccc", "dddd"})
        buf.append(frame);
    std::vector<std::string> taken;
    buf.take(taken);
    BOOST_TEST(joined(taken) == "aaaabbbbccccdddd");
    // A write that stopped in the middle of the second block.
    buf.put_back_unsent(taken, 11);
    BOOST_TEST(taken.empty());
    BOOST_TEST(buf.size() == 5u);
    buf.append("eeee");
    buf.take(taken);
    BOOST_TEST(joined(taken) == "cdddd" + std::string("eeee"));
}

BOOST_AUTO_TEST_CASE(put_back_after_a_complete_or_an_empty_write)
{
    outbound_buffer buf(8, 8);
    buf.append("aaaa");
    buf.append("bbbbbbbb");
    std::vector<std::string> taken;
    buf.take(taken);
    buf.put_back_unsent(taken, 12); // everything went
    BOOST_TEST(buf.empty());
    buf.take(taken);
    BOOST_TEST(taken.empty());

    buf.append("xyz");
    buf.take(taken);
    buf.put_back_unsent(taken, 0); // nothing went
    BOOST_TEST(buf.size() == 3u);
    buf.take(taken);
    BOOST_TEST(joined(taken) == "xyz");
}

BOOST_AUTO_TEST_CASE(a_frame_split_by_a_stopped_write_never_reaches_the_next_connection)
{
    outbound_buffer buf(64, 8);
    for (char c : {'a', 'b', 'c', 'd', 'e', 'f'})
        buf.append(std::string(20, c)); // 20-byte frames: whole frames per block, several blocks
    std::vector<std::string> taken;
    buf.take(taken);
    BOOST_TEST_REQUIRE(taken.size() >= 2u);
    std::string after_first;
    for (std::size_t i = 1; i < taken.size(); ++i)
        after_first += taken[i];
    buf.put_back_unsent(taken, 30); // a frame and a half went out
    BOOST_TEST(buf.has_partial_head());
    buf.append("later");
    buf.drop_partial_head(); // the connection died: the split block goes, later blocks stay
    BOOST_TEST(!buf.has_partial_head());
    buf.take(taken);
    BOOST_TEST(joined(taken) == after_first + "later");

    // Stopped at a block boundary: nothing is split, nothing is dropped.
    for (char c : {'g', 'h', 'i', 'j'})
        buf.append(std::string(20, c));
    buf.take(taken);
    BOOST_TEST_REQUIRE(taken.size() >= 2u);
    std::string rest;
    for (std::size_t i = 1; i < taken.size(); ++i)
        rest += taken[i];
    buf.put_back_unsent(taken, taken.front().size());
    BOOST_TEST(!buf.has_partial_head());
    buf.drop_partial_head();
    buf.take(taken);
    BOOST_TEST(joined(taken) == rest);

    // Taken again before the connection died: the taker owns the tail, and the mark goes with it.
    buf.append("kkkk");
    buf.take(taken);
    buf.put_back_unsent(taken, 2);
    BOOST_TEST(buf.has_partial_head());
    buf.take(taken);
    BOOST_TEST(!buf.has_partial_head());
    BOOST_TEST(joined(taken) == "kk");
}

BOOST_AUTO_TEST_SUITE_END()

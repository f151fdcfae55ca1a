// The NATS protocol parser fed what a hostile or broken server might send, cut into chunks at
// fuzzer-chosen points. Properties: the parser keeps its contract (parser_feed checks it), and the
// cuts never change the outcome: the same frames, the same error, the same unread tail as when the
// whole input arrives at once.
#include "../unit/nats/parser_feed.hpp"
#include "fuzz_check.hpp"

#include <fuzzer/FuzzedDataProvider.h>
#include <algorithm>

using beamline::fuzz::check;
namespace nt = beamline::nats::test;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    FuzzedDataProvider provider(data, size);
    const auto cut_count = provider.ConsumeIntegralInRange<std::size_t>(0, 16);
    std::vector<std::size_t> cut_seeds;
    for (std::size_t i = 0; i < cut_count; ++i)
        cut_seeds.push_back(provider.ConsumeIntegral<std::uint16_t>());
    const std::string input = provider.ConsumeRemainingBytesAsString();

    std::vector<std::size_t> cuts;
    for (auto seed : cut_seeds)
        if (!input.empty()) cuts.push_back(seed % input.size());
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    if (!cuts.empty() && cuts.front() == 0) cuts.erase(cuts.begin());

    const auto whole = nt::feed(input, {});
    const auto split = nt::feed(input, cuts);
    check(whole.contract_violation.empty(), whole.contract_violation);
    check(split.contract_violation.empty(), split.contract_violation);
    check(whole.ec == split.ec, "cutting the input changed the error");
    check(whole.frames == split.frames, "cutting the input changed the frames");
    if (!whole.ec) check(whole.unread == split.unread, "cutting the input changed the unread tail");
    return 0;
}

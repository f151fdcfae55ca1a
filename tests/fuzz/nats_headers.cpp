// The NATS header block codec: parse what a peer sent; what parses must encode to a block that
// parses back to the same fields and status, and the allocation-free lookups used on the hot path
// (find_header, header_status) must agree with the full parse.
#include "beamline/nats/protocol/headers.hpp"
#include "fuzz_check.hpp"

#include <fuzzer/FuzzedDataProvider.h>

using beamline::fuzz::check;
using beamline::nats::headers;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    FuzzedDataProvider provider(data, size);
    const auto key = provider.ConsumeRandomLengthString(32);
    const auto block = provider.ConsumeRemainingBytesAsString();

    (void)beamline::nats::find_header(block, key); // must not read outside the block
    const int raw_status = beamline::nats::header_status(block);

    headers parsed;
    if (headers::parse(block, parsed)) return 0;
    check(raw_status == parsed.status(), "header_status disagrees with parse");
    if (beamline::nats::valid_header_key(key))
    {
        const auto fast = beamline::nats::find_header(block, key);
        const auto full = parsed.get(key);
        check(fast.has_value() == full.has_value(), "find_header disagrees with parse on presence");
    }

    std::string encoded;
    parsed.encode(encoded);
    check(encoded.size() == parsed.encoded_size(), "encoded_size is not the size encode writes");
    headers again;
    check(!headers::parse(encoded, again), "an encoded block does not parse");
    std::string re_encoded;
    again.encode(re_encoded);
    check(re_encoded == encoded, "encode(parse(encode(h))) differs from encode(h)");
    return 0;
}

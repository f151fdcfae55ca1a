// The configuration reader: any bytes as the INI file, plus `BEAMLINE_*` environment variables
// and `--section.key` flags taken from the input. Properties: loading never crashes and either
// yields a configuration or an error naming its cause; a loaded configuration renders as INI text
// that loads again to the same rendering.
#include "beamline/app/config.hpp"
#include "fuzz_check.hpp"

#include <fuzzer/FuzzedDataProvider.h>
#include <sys/mman.h>
#include <unistd.h>

using beamline::fuzz::check;
namespace app = beamline::app;

namespace
{

/// An in-memory file rewritten for every input: the reader wants a path, the disk is not needed.
class memory_file
{
public:
    explicit memory_file(const char* name) : fd_(::memfd_create(name, 0))
    {
        check(fd_ >= 0, "memfd_create failed");
    }
    std::filesystem::path write(const std::string& text)
    {
        check(::ftruncate(fd_, 0) == 0, "ftruncate failed");
        check(::pwrite(fd_, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()), "pwrite failed");
        return "/proc/self/fd/" + std::to_string(fd_);
    }

private:
    int fd_;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static memory_file file("fuzz-config"), rendered("fuzz-config-rendered");
    FuzzedDataProvider provider(data, size);
    app::config_sources sources;
    const auto variables = provider.ConsumeIntegralInRange<int>(0, 4);
    for (int i = 0; i < variables; ++i)
    {
        auto name = "BEAMLINE_" + provider.ConsumeRandomLengthString(24);
        sources.environment[name] = provider.ConsumeRandomLengthString(64);
    }
    const auto flags = provider.ConsumeIntegralInRange<int>(0, 4);
    for (int i = 0; i < flags; ++i)
        sources.flags.push_back(provider.ConsumeRandomLengthString(48));
    if (provider.ConsumeBool()) sources.file = file.write(provider.ConsumeRemainingBytesAsString());

    auto loaded = app::load_config(sources);
    if (!loaded)
    {
        check(!loaded.error().message.empty(), "a refused configuration has no message");
        return 0;
    }
    const auto text = app::render_config(*loaded);
    app::config_sources again;
    again.file = rendered.write(text);
    auto reloaded = app::load_config(again);
    // Secrets render masked, so only a configuration without them must load back to itself.
    if (text.find("***") != std::string::npos) return 0;
    if (!reloaded)
    {
        std::fprintf(stderr, "rendered:\n%s\nrefused: %s\n", text.c_str(), reloaded.error().message.c_str());
        beamline::fuzz::property_failed("the rendering of a loaded configuration does not load");
    }
    check(app::render_config(*reloaded) == text, "loading the rendering changed the configuration");
    return 0;
}

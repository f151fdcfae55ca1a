#include "beamline/nats/sansio/writer_fsm.hpp"

namespace beamline::nats::sansio
{

std::string_view to_string(writer_state s) noexcept
{
    switch (s)
    {
    case writer_state::stopped: return "stopped";
    case writer_state::woken: return "woken";
    case writer_state::writing: return "writing";
    case writer_state::writing_burst_behind: return "writing_burst_behind";
    case writer_state::parked: return "parked";
    case writer_state::leaving_burst: return "leaving_burst";
    }
    return "unknown";
}

} // namespace beamline::nats::sansio

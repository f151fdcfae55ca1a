#pragma once
// The client's names for the subject rules. The rules themselves live once, in common/subject
// (NATS ADR-6), shared with the router and the configuration; this header only brings them into
// the nats namespace.

#include "beamline/common/subject.hpp"

namespace beamline::nats
{

using common::valid_publish_subject;
using common::valid_queue_name;
using common::valid_subscribe_subject;

} // namespace beamline::nats

// Copies a hiredis reply into an owned Reply (internal to redis/).
#pragma once

#include <hiredis/hiredis.h>

#include "redis/reply.h"

namespace keygate::redis {

// hiredis frees its reply as soon as the callback returns, so anything kept must be copied.
Reply to_reply(const redisReply& reply);

}  // namespace keygate::redis

// Asserting a refusal by its code and its reason: the message fragment names the check that
// refused, so a test cannot pass because an earlier, other check happened to fire.
#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <string>

#define EXPECT_REFUSED(status, code, fragment)                                   \
  do {                                                                           \
    const grpc::Status refused_ = (status);                                      \
    EXPECT_EQ(refused_.error_code(), (code)) << refused_.error_message();        \
    EXPECT_NE(refused_.error_message().find(fragment), std::string::npos)        \
        << "expected \"" << (fragment) << "\" in: " << refused_.error_message(); \
  } while (false)

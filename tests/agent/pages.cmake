add_executable(agent_waiting_page_test waiting_page_test.cc)
target_link_libraries(agent_waiting_page_test
  PRIVATE anteroom_agent_core GTest::gmock GTest::gtest_main)
gtest_discover_tests(agent_waiting_page_test DISCOVERY_TIMEOUT 60 TEST_PREFIX agent_)

add_executable(agent_status_json_test status_json_test.cc)
target_link_libraries(agent_status_json_test
  PRIVATE anteroom_agent_core GTest::gmock GTest::gtest_main)
gtest_discover_tests(agent_status_json_test DISCOVERY_TIMEOUT 60 TEST_PREFIX agent_)

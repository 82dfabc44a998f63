#include "report_dfxml.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "name_template.h"
#include "test_files.h"
#include "test_support.h"

namespace tcpscribe {
namespace {

using testing::slurp;

namespace fs = std::filesystem;

TEST(Dfxml, EscapesAndTimes) {
  EXPECT_EQ(xml_escape("a<b>&'\"\x01"), "a&lt;b&gt;&amp;&apos;&quot;?");
  EXPECT_EQ(dfxml_time(1'303'415'757'321'807'000), "2011-04-21T19:55:57.321807Z");
  EXPECT_EQ(dfxml_time(0), "1970-01-01T00:00:00.000000Z");
}

/// run_frames with the sink also observing segments (frame lengths, MACs),
/// as the pipeline registers it; `cut[k]` bytes of frame k were not captured.
void run_observed(std::vector<std::vector<uint8_t>> frames, DfxmlReportSink& sink,
                  std::vector<uint32_t> cut = {}) {
  PacketCore core(testing::core_config(), {&sink});
  core.add_observer(&sink);
  std::vector<testing::TimedFrame> timed;
  cut.resize(frames.size());
  for (size_t k = 0; k < frames.size(); ++k) {
    timed.push_back({1'000'000'000 + static_cast<Timestamp>(k) * 1'000'000, frames[k], cut[k]});
  }
  testing::feed_frames(core, timed);
  core.finish();
}

/// Ethernet destination and source: the client is 02:..:01, the server
/// 02:..:02.
std::vector<uint8_t> with_macs(std::vector<uint8_t> f, bool from_client) {
  const uint8_t client[6] = {0x02, 0, 0, 0, 0, 0x01};
  const uint8_t server[6] = {0x02, 0, 0, 0, 0xab, 0x02};
  std::copy(from_client ? server : client, (from_client ? server : client) + 6, f.begin());
  std::copy(from_client ? client : server, (from_client ? client : server) + 6, f.begin() + 6);
  return f;
}

TEST(Dfxml, OneFileobjectPerDirectionLikeTcpflow) {
  const fs::path p = fs::temp_directory_path() / "tcpscribe_dfxml_test.xml";
  DfxmlOptions o;
  o.outdir = "out";
  o.name_template = kDefaultTemplate;
  o.command_line = "tcpscribe -r x.pcap -X <report>";
  o.version = "0.1.0";
  {
    DfxmlReportSink sink(p.string(), o);
    ASSERT_FALSE(sink.failed()) << sink.error();
    testing::Crafter k;
    // The server's FIN lost 100 bytes to the snapshot length (caplen).
    run_observed(
        {with_macs(k.frame(true, 100, 0, Tins::TCP::SYN), true),
         with_macs(k.frame(false, 500, 101, Tins::TCP::SYN | Tins::TCP::ACK), false),
         with_macs(k.frame(true, 101, 501, Tins::TCP::ACK, "GET / HTTP/1.0\r\n\r\n"), true),
         with_macs(k.frame(true, 119, 501, Tins::TCP::ACK | Tins::TCP::FIN), true),
         with_macs(k.frame(false, 501, 120, Tins::TCP::ACK | Tins::TCP::FIN), false)},
        sink, {0, 0, 0, 0, 100});
    EXPECT_FALSE(sink.failed());
  }
  const std::string xml = slurp(p);
  // run_frames: packets 1 ms apart from t = 1 s.
  const std::string want_objects =
      "  <configuration>\n"
      "    <fileobject>\n"
      "      <filename>out/010.000.000.001.40000-010.000.000.002.00080</filename>\n"
      "      <filesize>18</filesize>\n"
      "      <tcpflow startime='1970-01-01T00:00:01.000000Z' "
      "endtime='1970-01-01T00:00:01.003000Z' mac_daddr='02:00:00:00:ab:02' "
      "mac_saddr='02:00:00:00:00:01' family='2' src_ipn='10.0.0.1' "
      "dst_ipn='10.0.0.2' srcport='40000' dstport='80' packets='3' len='192' />\n"
      "    </fileobject>\n"
      "    <fileobject>\n"
      "      <filesize>0</filesize>\n"
      "      <tcpflow startime='1970-01-01T00:00:01.001000Z' "
      "endtime='1970-01-01T00:00:01.004000Z' mac_daddr='02:00:00:00:00:01' "
      "mac_saddr='02:00:00:00:ab:02' family='2' src_ipn='10.0.0.2' "
      "dst_ipn='10.0.0.1' srcport='80' dstport='40000' packets='2' len='220' "
      "caplen='120' />\n"
      "    </fileobject>\n"
      "  </configuration>\n"
      "  <total_flows>2</total_flows>\n"
      "</dfxml>\n";
  ASSERT_GE(xml.size(), want_objects.size());
  EXPECT_EQ(xml.substr(xml.size() - want_objects.size()), want_objects) << xml;
  EXPECT_EQ(xml.rfind("<?xml version='1.0' encoding='UTF-8'?>\n<dfxml xmloutputversion='1.0'>\n",
                      0),
            0u);
  EXPECT_NE(xml.find("<program>TCPSCRIBE</program>\n    <version>0.1.0</version>"),
            std::string::npos);
  EXPECT_NE(xml.find("<command_line>tcpscribe -r x.pcap -X &lt;report&gt;</command_line>"),
            std::string::npos);
  fs::remove(p);
}

TEST(Dfxml, NamesAndSizesMatchTheFiles) {
  // A hole is part of the file (zero-filled); the name is expand_name's,
  // with the connection index on the tuple (c1) and the VLAN.
  const fs::path p = fs::temp_directory_path() / "tcpscribe_dfxml_names.xml";
  DfxmlOptions o;
  o.outdir = "flows";
  o.name_template = kDefaultTemplate;
  Connection c;
  c.id = 3;
  c.reuse_index = 1;
  const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  c.client.addr = IpAddr::v6_from(a);
  c.client.port = 5555;
  c.server.addr = IpAddr::v6_from(b);
  c.server.port = 443;
  c.vlan[0] = c.vlan[1] = 7;
  c.dir[0].packets = 4;
  c.analysis.dir[0].out_of_order = 2;
  {
    DfxmlReportSink sink(p.string(), o);
    const uint8_t bytes[5] = {1, 2, 3, 4, 5};
    sink.on_data(c, Dir::kClientToServer, 0, bytes, 0);
    sink.on_gap(c, Dir::kClientToServer, 5, 100, 0);
    sink.on_data(c, Dir::kClientToServer, 105, bytes, 0);
    sink.on_close(c, CloseReason::kIdle);
    sink.finish();
  }
  const std::string xml = slurp(p);
  const std::string name = "flows/" + expand_name(kDefaultTemplate, c, Dir::kClientToServer);
  EXPECT_EQ(name, "flows/2001:db8::1.05555-2001:db8::2.00443--7c1");
  EXPECT_NE(xml.find("      <filename>" + name + "</filename>\n      <filesize>110</filesize>\n"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("family='10' src_ipn='2001:db8::1' dst_ipn='2001:db8::2' srcport='5555' "
                     "dstport='443' vlan='7' packets='4' out_of_order_count='2' len='0' />"),
            std::string::npos)
      << xml;
  // The server sent no packet: no fileobject for it.
  EXPECT_NE(xml.find("<total_flows>1</total_flows>"), std::string::npos);
  fs::remove(p);
}

TEST(Dfxml, UnwritablePathIsAnError) {
  DfxmlReportSink sink("/nonexistent-dir/report.xml", DfxmlOptions{});
  EXPECT_TRUE(sink.failed());
  EXPECT_EQ(sink.error(), "cannot create /nonexistent-dir/report.xml.tmp: No such file or directory");
  sink.finish();
}

}  // namespace
}  // namespace tcpscribe

using System.Text.RegularExpressions;
using CtlHa.Iscsi.Tests.Support;

namespace CtlHa.Iscsi.Tests.Loopback;

/// <summary>
/// libiscsi's iscsi-test-cu iSCSI suites against the frontend in front of the real engine (CtlHa.Scsi).
/// Not covered here, with reasons: iSCSIResiduals.Write*/WriteVerify* (EDTL below the transfer length must write only
/// EDTL bytes; that is the engine's choice, see the seam note) and iSCSIdatasn (its expectations depend on libiscsi's
/// reconnect timing; our DataSN checks are covered by HostileInputTests).
/// </summary>
[Collection("loopback")]
public sealed partial class LibiscsiSuiteTests
{
    [GeneratedRegex(@"tests\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)")]
    private static partial Regex TestsRow();

    [Theory(Timeout = 120000)]
    [InlineData("iSCSI.iSCSIcmdsn.*")]
    [InlineData("iSCSI.iSCSIResiduals.Read*")]
    [InlineData("iSCSI.iSCSITMF.*")]
    [InlineData("SCSI.Write10.BeyondEol")] // hung when an R2T raced the early CHECK CONDITION (EDTL > FirstBurstLength)
    public async Task Iscsi_test_cu_suite_passes_against_the_engine(string suite)
    {
        if (!File.Exists("/usr/bin/iscsi-test-cu"))
        {
            return;
        }
        await using RunningTarget target = await RunningTarget.StartWithEngineAsync();
        (int code, string output) = await RealInitiatorTests.RunToolAsync(
            "iscsi-test-cu", $"--dataloss -i iqn.2026-11.org.test:cu -t {suite} {target.Url()}", TimeSpan.FromSeconds(90));
        Assert.True(code == 0, output);
        Match row = TestsRow().Match(output);
        Assert.True(row.Success, output);
        Assert.True(int.Parse(row.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, output);
        Assert.True(row.Groups[4].Value == "0", output);
        target.AssertNoErrors();
    }
}

using System.Text;
using CtlHa.Initiator.Login;
using CtlHa.Initiator.Pdus;

namespace CtlHa.Initiator.Tests.Unit;

public sealed class LoginUnitTests
{
    [Fact]
    public void Chap_MD5_response_is_MD5_of_identifier_secret_and_challenge()
    {
        // Expected value computed independently (Python hashlib) for RFC 1994 §4.1 with id 1, "secret", challenge 01..10.
        var challenge = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
        var response = Chap.Response(0x01, Encoding.UTF8.GetBytes("secret"), challenge);
        Assert.Equal("bb84a7f2e418de521cf8e784e3597d7e", Convert.ToHexStringLower(response));
    }

    [Fact]
    public void Chap_mutual_response_vector_matches()
    {
        var response = Chap.Response(0xB7, Encoding.UTF8.GetBytes("mutual-secret-1"), Convert.FromHexString("00112233445566778899aabbccddeeff"));
        Assert.Equal("0x015cbecb8c6cdaafbff77d7029c7e5d8", Chap.EncodeHex(response));
    }

    [Theory]
    [InlineData("0x0102ff", new byte[] { 1, 2, 0xFF })]
    [InlineData("0X0102FF", new byte[] { 1, 2, 0xFF })]
    [InlineData("0x102", new byte[] { 1, 2 })]
    [InlineData("0bAQL/", new byte[] { 1, 2, 0xFF })]
    public void Chap_binary_values_decode_from_hex_and_base64(string text, byte[] expected)
    {
        Assert.Equal(expected, Chap.DecodeBinary(text));
    }

    [Theory]
    [InlineData("7", 7)]
    [InlineData("255", 255)]
    [InlineData("0x1f", 31)]
    public void Chap_identifiers_parse_in_decimal_and_hex(string text, byte expected)
    {
        Assert.Equal(expected, Chap.ParseIdentifier(text));
    }

    [Fact]
    public void Chap_identifier_above_255_is_a_login_error()
    {
        Assert.Throws<IscsiLoginException>(() => Chap.ParseIdentifier("256"));
    }

    [Fact]
    public void Text_keys_round_trip_in_order()
    {
        var keys = new List<KeyValuePair<string, string>>
        {
            new("InitiatorName", "iqn.2026-11.org.example:a"),
            new("HeaderDigest", "CRC32C,None"),
            new("X-vendor", "a=b"),
        };
        var bytes = TextParameters.Encode(keys);
        Assert.Equal("InitiatorName=iqn.2026-11.org.example:a\0HeaderDigest=CRC32C,None\0X-vendor=a=b\0", Encoding.UTF8.GetString(bytes));
        Assert.Equal(keys, TextParameters.Decode(bytes));
    }

    [Fact]
    public void Text_without_an_equals_sign_is_a_protocol_error()
    {
        Assert.Throws<IscsiProtocolException>(() => TextParameters.Decode("NoEquals\0"u8));
    }

    [Fact]
    public void Login_request_header_carries_stages_ISID_TSIH_and_CID()
    {
        var pdu = IscsiLogin.BuildRequest(0x8000_1234_5678, 0x0042, 9, 3, 100, 200, transit: true, @continue: false,
            LoginStage.Operational, LoginStage.FullFeature, ReadOnlyMemory<byte>.Empty);
        var bytes = PduFramer.ToArray(pdu, DigestSettings.None);
        Assert.Equal(0x43, bytes[0]);
        Assert.Equal(0x80 | (1 << 2) | 3, bytes[1]);
        Assert.Equal(new byte[] { 0x80, 0x00, 0x12, 0x34, 0x56, 0x78, 0x00, 0x42 }, bytes[8..16]);
        Assert.Equal(new byte[] { 0, 3 }, bytes[20..22]);
        Assert.Equal(100u, pdu.CmdSN);
        Assert.Equal(200u, pdu.ExpStatSN);
        Assert.Equal(new byte[] { 0x80, 0x00, 0x12, 0x34, 0x56, 0x78 }, IscsiLogin.IsidBytes(0x8000_1234_5678));
    }

    [Fact]
    public void A_login_request_without_transit_leaves_NSG_zero()
    {
        var pdu = IscsiLogin.BuildRequest(1, 0, 0, 0, 1, 0, transit: false, @continue: false,
            LoginStage.Security, LoginStage.Operational, ReadOnlyMemory<byte>.Empty);
        Assert.Equal(0x00, pdu.Flags);
    }

    [Fact]
    public void Random_ISIDs_use_the_random_format_and_differ()
    {
        var a = InitiatorOptions.RandomIsid();
        var b = InitiatorOptions.RandomIsid();
        Assert.Equal(0b10UL, a >> 46);
        Assert.True(a < (1UL << 48));
        Assert.NotEqual(a, b);
    }
}

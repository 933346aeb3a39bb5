using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace CtlHa.Scsi.Backends;

/// <summary>Linux libc calls .NET does not expose: hole punching and hole discovery for thin files.</summary>
internal static class NativeMethods
{
    // linux/falloc.h
    public const int FallocFlKeepSize = 0x01;
    public const int FallocFlPunchHole = 0x02;

    // unistd.h (Linux): lseek whence values for sparse files.
    public const int SeekData = 3;
    public const int SeekHole = 4;

    // errno.h
    public const int Enxio = 6;

    [DllImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    public static extern int Fallocate(SafeFileHandle fd, int mode, long offset, long length);

    [DllImport("libc", EntryPoint = "lseek", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    public static extern long Lseek(SafeFileHandle fd, long offset, int whence);
}

// The agent drives Linux kernel interfaces (netlink, nftables, Unix sockets); it runs nowhere else.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

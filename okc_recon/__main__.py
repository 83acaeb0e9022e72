from okc_recon.cli import main

main()

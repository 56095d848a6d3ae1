"""The monthly statistics and the service supervision report (服务监督报告):
figures per month, region and technician, each with its written definition
(``statistics.py``; docs/monthly-statistics.md), and the cost inputs they need
(``models.py``: expenses recorded against a job)."""
